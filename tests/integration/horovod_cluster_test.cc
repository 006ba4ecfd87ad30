// Horovod 0.28.1 itself, both ways, as horovodSettings jobs on the local
// cluster through `batchai job create`: the Horovod-PyTorch recipe's shape,
// and the tutorial's own job, a Keras + Horovod CIFAR-10 script on TF 2.14
// whose saved model batchai-train then scores. The frameworks live in the
// virtual environments that `share/batchai/setup-deps --frameworks` makes;
// a test whose environment is missing skips and names it.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "integration/cli_fixture.h"
#include "integration/run_command.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path frameworks_dir() {
  const char* d = std::getenv("BATCHAI_FRAMEWORKS_DIR");
  return d && *d ? fs::path(d) : fs::path("/var/tmp/batchai-frameworks");
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Each test runs a 2-node horovodSettings job in experiment "hvd" of a
// 4-node cluster "nc6", with the Python of the venv it names.
class HorovodOnTheCluster : public batchai::testing::CliFixture {
 protected:
  fs::path python;

  void use_venv(const std::string& venv, const std::string& what) {
    CliFixture::SetUp();
    if (IsSkipped()) return;
    const fs::path root = frameworks_dir() / venv;
    python = root / "bin/python";
    if (!fs::exists(root / ".complete") || !fs::exists(python)) {
      GTEST_SKIP() << "no " << what << " at " << root
                   << " (share/batchai/setup-deps --frameworks installs it; BATCHAI_FRAMEWORKS_DIR moves it)";
    }
    ASSERT_EQ(batchai("workspace create -g rg -n ws").status, 0);
    ASSERT_EQ(batchai("experiment create -g rg -w ws -n hvd").status, 0);
    ASSERT_EQ(batchai("cluster create -g rg -w ws -n nc6 -s STANDARD_NC6 -t 4").status, 0);
  }

  // horovodSettings as the tutorial writes them, with the venv's Python.
  std::string horovod_job(const std::string& name, const std::string& script, const std::string& args) {
    return write_job(name, R"({
      "nodeCount": 2,
      "horovodSettings": {"pythonScriptFilePath": ")" + (fs::path(BATCHAI_FRAMEWORK_SCRIPTS) / script).string() +
                               R"(", "pythonInterpreterPath": ")" + python.string() + R"(",
                          "commandLineArgs": ")" + args + R"(", "processCount": 2},
      "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare",
      "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://teststorage.file.core.windows.net/myshare",
                                            "relativeMountPath": "myshare"}]}
    })");
  }

  // Creates the job, waits for its end and expects it succeeded.
  void run_job(const std::string& name, const std::string& file) {
    const auto created = batchai("job create -g rg -w ws -e hvd -n " + name + " -c nc6 -f " + file);
    ASSERT_EQ(created.status, 0) << created.err;
    const auto waited = batchai("job wait -g rg -w ws -e hvd -n " + name + " --interval 1");
    const auto shown = batchai_json("job show -g rg -w ws -e hvd -n " + name);
    const auto out = batchai("job file stream -g rg -w ws -e hvd -j " + name + " -f stdout.txt");
    const auto err = batchai("job file stream -g rg -w ws -e hvd -j " + name + " -f stderr.txt");
    ASSERT_EQ(waited.status, 0) << waited.err << "\nstdout:\n" << out.out << "\nstderr:\n" << err.out;
    ASSERT_TRUE(shown.is_object());
    EXPECT_EQ(shown.at("executionState"), "succeeded") << err.out;
    EXPECT_EQ(shown.at("executionInfo").at("exitCode"), 0) << err.out;
    EXPECT_EQ(shown.at("toolType"), "horovod");
    stdout_text = out.out;
  }
  std::string stdout_text;
};

class HorovodPyTorch : public HorovodOnTheCluster {
 protected:
  void SetUp() override { use_venv("torch-hvd", "Horovod-PyTorch venv (python3-torch, horovod 0.28.1)"); }
};

class HorovodKeras : public HorovodOnTheCluster {
 protected:
  void SetUp() override {
    if (!fs::exists(fs::path(BATCHAI_TEST_DATA) / "test_batch.bin")) {
      GTEST_SKIP() << "no CIFAR-10 at " << BATCHAI_TEST_DATA << " (share/batchai/get-cifar10 makes it)";
    }
    use_venv("tf214-hvd", "Keras + Horovod venv (tensorflow-cpu 2.14.1, scipy, horovod 0.28.1)");
  }
};

// The recipe's shape: each rank starts from its own parameters, rank 0's
// are broadcast, hvd.DistributedOptimizer averages every step's gradients,
// and the two ranks, one per node, end with the same parameters.
TEST_F(HorovodPyTorch, RanksOnTwoNodesEndWithIdenticalParameters) {
  fs::create_directories(dir / "shares/myshare/torch");
  run_job("torch", horovod_job("torch", "horovod/torch_hvd_steps.py",
                               "--out $AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/torch --steps 5"));
  if (HasFatalFailure()) return;
  json::object rank[2];
  for (int r = 0; r < 2; ++r) {
    const fs::path p = dir / "shares/myshare/torch" / ("rank" + std::to_string(r) + ".json");
    ASSERT_TRUE(fs::exists(p)) << p;
    rank[r] = json::parse(read_file(p)).as_object();
    EXPECT_EQ(rank[r].at("size"), 2);
  }
  EXPECT_NE(rank[0].at("slurm_node"), rank[1].at("slurm_node")) << "the ranks ran on two nodes";
  EXPECT_NE(rank[0].at("initial"), rank[1].at("initial")) << "each rank drew its own parameters";
  EXPECT_EQ(rank[0].at("broadcast"), rank[1].at("broadcast"));
  EXPECT_NE(rank[0].at("broadcast"), rank[0].at("final")) << "the steps changed the parameters";
  EXPECT_EQ(rank[0].at("final"), rank[1].at("final"));
  EXPECT_NE(rank[0].at("losses"), rank[1].at("losses")) << "each rank trained on its own data";
}

// The tutorial's job for real, on a slice: the Keras script trains on two
// nodes with the broadcast the published script forgot, every rank ends
// with the same weights, rank 0 alone writes the model, and batchai-train
// scores that model as Keras itself did.
TEST_F(HorovodKeras, TheTutorialsJobTrainsAndBatchaiTrainScoresItsModelAsKerasDoes) {
  const fs::path out = dir / "shares/myshare/cifar";
  fs::create_directories(out);
  const std::string test_images = "200";
  run_job("cifar", horovod_job("cifar", "horovod/cifar10_keras_hvd.py",
                               "--dir=$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/cifar --data=" BATCHAI_TEST_DATA
                               " --epochs 1 --train-images 256 --test-images " + test_images + " --threads 1"));
  if (HasFatalFailure()) return;
  EXPECT_EQ(count(stdout_text, "Test accuracy: "), 1u) << "rank 0 alone reports\n" << stdout_text;

  const auto initial0 = read_file(out / "weights-rank0.initial");
  const auto initial1 = read_file(out / "weights-rank1.initial");
  const auto final0 = read_file(out / "weights-rank0.final");
  ASSERT_FALSE(initial0.empty() || initial1.empty() || final0.empty()) << "every rank wrote its hashes";
  EXPECT_NE(initial0, initial1) << "each rank drew its own initial weights";
  EXPECT_EQ(final0, read_file(out / "weights-rank1.final")) << "BroadcastGlobalVariablesCallback made one model";
  EXPECT_NE(final0, initial0);
  EXPECT_TRUE(fs::exists(out / "checkpoint-1.h5"));
  const fs::path model = out / "saved_models/keras_cifar10_trained_model.h5";
  ASSERT_TRUE(fs::exists(model));

  const json::object keras = json::parse(read_file(out / "keras-eval.json")).as_object();
  EXPECT_EQ(keras.at("ranks"), 2);
  const auto scored = batchai::testing::run_command(std::string(BATCHAI_TRAIN_EXE) + " --evaluate " + model.string() +
                                                    " --data " BATCHAI_TEST_DATA " --test-images " + test_images +
                                                    " --threads 1");
  ASSERT_EQ(scored.status, 0) << scored.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(scored.out, m,
                                std::regex(R"(Test loss: ([0-9.]+), test accuracy: ([0-9.]+) \(([0-9]+) of ([0-9]+) images\))")))
      << scored.out;
  EXPECT_EQ(m[4].str(), test_images);
  const long ours = std::stol(m[3].str());
  const long theirs = keras.at("correct").to_number<long>();
  EXPECT_LE(std::labs(ours - theirs), 1L) << "images right: batchai-train " << ours << ", Keras " << theirs;
  const double n = std::stod(test_images);
  EXPECT_NEAR(std::stod(m[2].str()), keras.at("accuracy").to_number<double>(), 1.0 / n + 1e-6) << scored.out;
  EXPECT_NEAR(std::stod(m[1].str()), keras.at("loss").to_number<double>(), 1e-3) << scored.out;
}

}  // namespace
