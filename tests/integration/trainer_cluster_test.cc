// The tutorial's training as a Batch AI job on the local cluster: four
// ranks of batchai-train on four nodes through `batchai job create`, on a
// slice of real CIFAR-10, writing to a share. Only rank 0 writes files and
// prints, so the job's stdout is one clean progress stream. The same job,
// exported and submitted with plain sbatch, ends the same way.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "integration/cli_fixture.h"
#include "integration/run_command.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Each test trains in experiment "cifar" on a 4-node cluster "nc6".
class TrainerOnTheCluster : public batchai::testing::CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists(fs::path(BATCHAI_TEST_DATA) / "data_batch_1.bin")) {
      GTEST_SKIP() << "no CIFAR-10 at " << BATCHAI_TEST_DATA
                   << " (make it with ../shared/data/cifar10/make-cifar10-bin)";
    }
    ASSERT_EQ(batchai("workspace create -g rg -n ws").status, 0);
    ASSERT_EQ(batchai("experiment create -g rg -w ws -n cifar").status, 0);
    ASSERT_EQ(batchai("cluster create -g rg -w ws -n nc6 -s STANDARD_NC6 -t 4").status, 0);
  }
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(TrainerOnTheCluster, FourRanksOnFourNodesWriteOnlyFromRankZero) {
  fs::create_directories(dir / "shares/myshare/cifar");
  // Leak checks are off for the ranks under the sanitizer build: Open MPI
  // keeps memory until exit by design.
  const std::string job = write_job("train", R"({
    "nodeCount": 4,
    "customMpiSettings": {"commandLine": "ASAN_OPTIONS=detect_leaks=0 )" + std::string(BATCHAI_TRAIN_EXE) +
                                               R"( --data )" BATCHAI_TEST_DATA R"( --dir $AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/cifar --epochs 2 --train-images 256 --test-images 64 --threads 1",
                          "processCount": 4},
    "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/cifar/logs",
    "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://teststorage.file.core.windows.net/myshare",
                                          "relativeMountPath": "myshare"}]}
  })");
  const auto created = batchai("job create -g rg -w ws -e cifar -n train -c nc6 -f " + job);
  ASSERT_EQ(created.status, 0) << created.err;
  const auto waited = batchai("job wait -g rg -w ws -e cifar -n train --interval 1");
  ASSERT_EQ(waited.status, 0) << waited.err;

  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir / "shares/myshare/cifar")) files.push_back(e.path().filename());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"checkpoint-1.h5", "checkpoint-2.h5", "logs", "metrics.jsonl",
                                             "saved_models", "training.svg"}));
  EXPECT_TRUE(fs::exists(dir / "shares/myshare/cifar/saved_models/keras_cifar10_trained_model.h5"));

  const auto out = batchai("job file stream -g rg -w ws -e cifar -j train -f stdout.txt");
  ASSERT_EQ(out.status, 0) << out.err;
  EXPECT_EQ(count(out.out, "batchai-train 0"), 1u) << out.out;
  EXPECT_NE(out.out.find("4 rank(s)"), std::string::npos) << out.out;
  EXPECT_EQ(count(out.out, "Epoch 1/2\n"), 1u) << out.out;
  EXPECT_EQ(count(out.out, "Epoch 2/2\n"), 1u) << out.out;
  EXPECT_EQ(count(out.out, "val_acc: "), 2u) << out.out;
  EXPECT_EQ(count(out.out, "Test accuracy: "), 1u) << out.out;
}

// A site that keeps its own sbatch: `job export` writes the job, plain
// sbatch submits the script it names, and batchai, told the Slurm id,
// follows the job to the end that `job create` gives the same job.json:
// the same state and exit code, the same files in its output directory and
// its stdouterr, the same metrics (the training is seeded, one thread per
// rank) and the same test accuracy.
TEST_F(TrainerOnTheCluster, AnExportedJobSubmittedWithSbatchEndsAsJobCreateDoes) {
  // Two trainings in one test: under the sanitizers, whose trainer is about
  // 30 times slower, each is one short epoch, so both fit the test's limit.
#if defined(__SANITIZE_ADDRESS__)
  const std::string training = " --epochs 1 --train-images 64 --test-images 32";
  const std::size_t epochs = 1;
#else
  const std::string training = " --epochs 2 --train-images 256 --test-images 64";
  const std::size_t epochs = 2;
#endif
  // The tutorial's shape: its output directory MODEL and its logs per job,
  // under the job's own path segment, so the two jobs share nothing.
  const std::string job = write_job("train", R"({
    "nodeCount": 4,
    "customMpiSettings": {"commandLine": "ASAN_OPTIONS=detect_leaks=0 )" + std::string(BATCHAI_TRAIN_EXE) +
                                               R"( --data )" BATCHAI_TEST_DATA R"( --dir $AZ_BATCHAI_OUTPUT_MODEL)" +
                                               training + R"( --threads 1",
                          "processCount": 4},
    "outputDirectories": [{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare"}],
    "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare",
    "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://<AZURE_BATCHAI_STORAGE_ACCOUNT>.file.core.windows.net/myshare",
                                          "relativeMountPath": "myshare"}]},
    "jobPreparation": {"commandLine": "echo prepared on $SLURMD_NODENAME"}
  })");

  const auto created = batchai("job create -g rg -w ws -e cifar -n created -c nc6 -f " + job);
  ASSERT_EQ(created.status, 0) << created.err;
  const auto waited = batchai("job wait -g rg -w ws -e cifar -n created --interval 1");
  ASSERT_EQ(waited.status, 0) << waited.err;

  auto exported = batchai_json("job export -g rg -w ws -e cifar -n exported -c nc6 -f " + job);
  ASSERT_TRUE(exported.is_object());
  EXPECT_TRUE(exported.at("slurmJobId").is_null());
  const std::string command(exported.at("sbatchCommand").as_string());
  EXPECT_EQ(command, "sbatch " + std::string(exported.at("jobDirectory").as_string()) + "/job.sbatch");
  // The printed command as it is, in the environment job create ran in.
  const auto submitted = batchai::testing::run_command(env + command);
  ASSERT_EQ(submitted.status, 0) << submitted.out;
  std::smatch id;
  ASSERT_TRUE(std::regex_search(submitted.out, id, std::regex("Submitted batch job ([0-9]+)"))) << submitted.out;
  const auto followed = batchai("job wait -g rg -w ws -e cifar -n exported --interval 1 --slurm-job-id " + id[1].str());
  ASSERT_EQ(followed.status, 0) << followed.err;

  auto a = batchai_json("job show -g rg -w ws -e cifar -n created");
  auto b = batchai_json("job show -g rg -w ws -e cifar -n exported");
  EXPECT_EQ(b.at("slurmJobId"), json::value(std::stoll(id[1].str())));
  for (const char* field : {"executionState", "toolType", "nodeCount"}) EXPECT_EQ(a.at(field), b.at(field)) << field;
  EXPECT_EQ(b.at("executionState"), "succeeded");
  EXPECT_EQ(a.at("executionInfo").at("exitCode"), b.at("executionInfo").at("exitCode"));
  EXPECT_EQ(b.at("executionInfo").at("exitCode"), 0);

  auto names = [&](const std::string& name, const std::string& where) {
    std::set<std::string> all;
    auto files = batchai_json("job file list -g rg -w ws -e cifar -j " + name + " -d " + where);
    for (const auto& f : files.as_array()) all.insert(std::string(f.at("name").as_string()));
    return all;
  };
  EXPECT_EQ(names("created", "MODEL"), names("exported", "MODEL"));
  EXPECT_TRUE(names("exported", "MODEL").contains("saved_models/")) << "the trained model";
  EXPECT_EQ(names("created", "stdouterr"), names("exported", "stdouterr"));
  EXPECT_EQ(names("created", "MODEL -p saved_models"), names("exported", "MODEL -p saved_models"));

  // Each epoch's loss and accuracies (not its seconds), and the score.
  auto trained = [&](const std::string& name) {
    const fs::path segment(json::value_to<std::string>(batchai_json("job show -g rg -w ws -e cifar -n " + name)
                                                           .at("jobOutputDirectoryPathSegment")));
    std::ifstream in(dir / "shares/myshare" / segment / "outputs/metrics.jsonl");
    std::vector<std::string> epochs;
    for (std::string line; std::getline(in, line);) {
      json::object e = json::parse(line).as_object();
      e.erase("seconds");
      e.erase("images_per_second");
      epochs.push_back(json::serialize(e));
    }
    const auto out = batchai("job file stream -g rg -w ws -e cifar -j " + name + " -f stdout.txt");
    EXPECT_EQ(out.status, 0) << out.err;
    const auto at = out.out.find("Test accuracy: ");
    epochs.push_back(at == std::string::npos ? "no score" : out.out.substr(at, out.out.find('\n', at) - at));
    return epochs;
  };
  const auto from_create = trained("created");
  EXPECT_EQ(from_create.size(), epochs + 1) << "each epoch's record and the score";
  EXPECT_EQ(trained("exported"), from_create);
}

}  // namespace
