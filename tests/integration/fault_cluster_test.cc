// Real faults on the local cluster, with batchai-train as the job: a node
// set down, a node whose slurmd dies, a preemption, a time limit, and the
// controller killed. A job that loses its node or is preempted goes back to
// the queue and resumes from its checkpoints; its saved model must equal,
// to the bit, the model of the same job run without a fault. Label
// `faults`: slow (each requeue waits out Slurm's cred_expire), and run once,
// under the default preset.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/cli_fixture.h"
#include "integration/run_command.h"
#include "io/keras_h5.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using batchai::testing::run_command;
using Clock = std::chrono::steady_clock;

[[maybe_unused]] std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every kernel and bias of a saved model, in order.
std::vector<float> weights(const fs::path& file) {
  auto f = batchai::keras::read_keras_h5(file.string());
  EXPECT_TRUE(f) << (f ? "" : f.error().message);
  std::vector<float> all;
  if (!f) return all;
  for (const auto& layer : f->layers) {
    for (const auto& t : layer.weights) all.insert(all.end(), t.data.begin(), t.data.end());
  }
  return all;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class FaultsOnTheCluster : public batchai::testing::CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists(fs::path(BATCHAI_TEST_DATA) / "data_batch_1.bin")) {
      GTEST_SKIP() << "no CIFAR-10 at " << BATCHAI_TEST_DATA
                   << " (make it with ../shared/data/cifar10/make-cifar10-bin)";
    }
    const char* conf = std::getenv("SLURM_CONF");
    ASSERT_NE(conf, nullptr);
    cluster_dir = fs::path(conf).parent_path().parent_path();
    ASSERT_EQ(batchai("workspace create -g rg -n ws").status, 0);
    ASSERT_EQ(batchai("experiment create -g rg -w ws -n cifar").status, 0);
    ASSERT_EQ(batchai("cluster create -g rg -w ws -n nc6 -s STANDARD_NC6 -t 4").status, 0);
  }

  // Whatever a test did to the cluster, the next test finds it whole: every
  // daemon running and every node up.
  void TearDown() override {
    if (!cluster_dir.empty()) {
      run_command(std::string(BATCHAI_LOCALCLUSTER) + " up --dir " + cluster_dir.string() + " >/dev/null");
      for (const auto& n : downed) run_command("scontrol update nodename=" + n + " state=resume");
    }
    CliFixture::TearDown();
  }

  // A 2-node, 2-rank training into myshare/<name>, one thread per rank.
  std::string training_job(const std::string& name, const std::string& args, const std::string& extra = "") {
    fs::create_directories(dir / "shares/myshare" / name);
    return write_job(name, R"({
      "nodeCount": 2,
      "customMpiSettings": {"commandLine": ")" + std::string(BATCHAI_TRAIN_EXE) + " --data " BATCHAI_TEST_DATA
                               " --dir $AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/" + name + " --threads 1 " + args + R"(",
                            "processCount": 2},
      "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/)" + name + R"(/logs",
      "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://teststorage.file.core.windows.net/myshare",
                                            "relativeMountPath": "myshare"}]})" + extra + "}");
  }

  fs::path out(const std::string& name) { return dir / "shares/myshare" / name; }

  // Creates the job and waits for it to end; returns `job wait`'s status.
  int run_to_end(const std::string& name, const std::string& file, const std::string& cluster = "nc6") {
    const auto created = batchai("job create -g rg -w ws -e cifar -n " + name + " -c " + cluster + " -f " + file);
    EXPECT_EQ(created.status, 0) << created.err;
    return batchai("job wait -g rg -w ws -e cifar -n " + name + " --interval 1").status;
  }

  bool wait_for_file(const fs::path& p, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      if (fs::exists(p)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::uint64_t slurm_id(const std::string& name) {
    auto shown = batchai_json("job show -g rg -w ws -e cifar -n " + name);
    return shown.at("slurmJobId").to_number<std::uint64_t>();
  }

  // The job's nodes, in Slurm's order.
  std::vector<std::string> nodes_of(std::uint64_t id) {
    auto r = run_command("scontrol show hostnames \"$(squeue -h -j " + std::to_string(id) + " -o %N)\"");
    std::vector<std::string> nodes;
    std::istringstream lines(r.out);
    for (std::string n; std::getline(lines, n);) {
      if (!n.empty()) nodes.push_back(n);
    }
    return nodes;
  }

  json::value show(const std::string& name) { return batchai_json("job show -g rg -w ws -e cifar -n " + name); }

  // What every resumed job must show: one requeue, for `reason`, the first
  // start kept, the epoch-1 checkpoint untouched, the straight run's
  // weights, and the log reading as both attempts in turn.
  void expect_resumed(const std::string& name, const std::string& reason, const struct stat& before) {
    auto shown = show(name);
    EXPECT_EQ(shown.at("executionState"), "succeeded") << shown;
    EXPECT_EQ(shown.at("restartCount"), 1) << shown;
    const auto& attempts = shown.at("attempts").as_array();
    ASSERT_EQ(attempts.size(), 2u) << shown;
    EXPECT_EQ(attempts[0].at("endReason"), reason.c_str()) << shown;
    EXPECT_EQ(attempts[1].at("endReason"), "completed") << shown;
    EXPECT_EQ(shown.at("executionInfo").at("startTime"), attempts[0].at("startTime")) << shown;
    struct stat after {};
    ASSERT_EQ(::stat((out(name) / "checkpoint-1.h5").c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino) << "checkpoint-1.h5 was written again";
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    const auto model = [&](const std::string& n) { return weights(out(n) / "saved_models/keras_cifar10_trained_model.h5"); };
    EXPECT_EQ(model(name), model("straight")) << "the resumed run's weights differ from the straight run's";
    const auto streamed = batchai("job file stream -g rg -w ws -e cifar -j " + name + " -f stdout.txt");
    EXPECT_EQ(streamed.status, 0) << streamed.err;
    const std::string& log = streamed.out;
    const auto marker = log.find("==== batchai: attempt 2 (restart 1) of job ");
    EXPECT_NE(marker, std::string::npos) << log;
    EXPECT_NE(log.find("Epoch 1/3"), std::string::npos) << log;
    EXPECT_LT(log.find("Epoch 1/3"), marker) << "attempt 1's lines come first";
    EXPECT_EQ(log.find("Epoch 1/3", marker), std::string::npos) << "the resumed run trained epoch 1 again";
  }

  // The reference: the same training, without a fault.
  void run_straight(const std::string& args) {
    ASSERT_EQ(run_to_end("straight", training_job("straight", args)), 0);
  }

  fs::path cluster_dir;
  std::vector<std::string> downed;
};

constexpr const char* kTraining = "--epochs 3 --train-images 2048 --test-images 64 --seed 5";

TEST_F(FaultsOnTheCluster, ANodeSetDownMidRunRequeuesAndResumesToTheSameWeights) {
  run_straight(kTraining);
  const auto created = batchai("job create -g rg -w ws -e cifar -n faulted -c nc6 -f " +
                               training_job("faulted", kTraining));
  ASSERT_EQ(created.status, 0) << created.err;
  ASSERT_TRUE(wait_for_file(out("faulted") / "checkpoint-1.h5", 180));
  struct stat before {};
  ASSERT_EQ(::stat((out("faulted") / "checkpoint-1.h5").c_str(), &before), 0);
  const auto id = slurm_id("faulted");
  const auto nodes = nodes_of(id);
  ASSERT_EQ(nodes.size(), 2u);
  // A hardware fault, as the controller sees one.
  const auto fault = Clock::now();
  downed.push_back(nodes[1]);
  ASSERT_EQ(run_command("scontrol update nodename=" + nodes[1] + " state=down reason=batchai-test").status, 0);
  const fs::path job_dir = json::value_to<std::string>(show("faulted").at("jobDirectory"));
  ASSERT_TRUE(wait_for_file(job_dir / "attempts/1", 180)) << "the job did not start again";
  std::cout << "[ figure ] node down to the job's restart: " << seconds_since(fault) << " s\n";
  run_command("scontrol update nodename=" + nodes[1] + " state=resume");
  ASSERT_EQ(batchai("job wait -g rg -w ws -e cifar -n faulted --interval 1").status, 0);
  expect_resumed("faulted", "nodeFailure", before);
}

}  // namespace
