// The tutorial's training as a Batch AI job on the local cluster: four
// ranks of batchai-train on four nodes through `batchai job create`, on a
// slice of real CIFAR-10, writing to a share. Only rank 0 writes files and
// prints, so the job's stdout is one clean progress stream.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "integration/cli_fixture.h"

namespace {

namespace fs = std::filesystem;

class TrainerOnTheCluster : public batchai::testing::CliFixture {};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(TrainerOnTheCluster, FourRanksOnFourNodesWriteOnlyFromRankZero) {
  if (!fs::exists(fs::path(BATCHAI_TEST_DATA) / "data_batch_1.bin")) {
    GTEST_SKIP() << "no CIFAR-10 at " << BATCHAI_TEST_DATA << " (make it with ../shared/data/cifar10/make-cifar10-bin)";
  }
  ASSERT_EQ(batchai("workspace create -g rg -n ws").status, 0);
  ASSERT_EQ(batchai("experiment create -g rg -w ws -n cifar").status, 0);
  ASSERT_EQ(batchai("cluster create -g rg -w ws -n nc6 -s STANDARD_NC6 -t 4").status, 0);
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

}  // namespace
