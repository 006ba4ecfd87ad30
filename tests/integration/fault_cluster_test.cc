// Real faults on the local cluster, with batchai-train as the job: a node
// set down, a node whose slurmd dies, a preemption, a time limit, and the
// controller killed. A job that loses its node or is preempted goes back to
// the queue and resumes from its checkpoints; its saved model must equal,
// to the bit, the model of the same job run without a fault. Label
// `faults`: slow (each requeue waits out Slurm's cred_expire), and run once,
// under the default preset.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
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

std::string slurp(const fs::path& p) {
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
      // A test that stopped early leaves no job of its own to hold nodes
      // from the next one: every job whose directory is under this test's.
      run_command("squeue -h -o '%i %Z' | awk -v d=" + dir.string() +
                  " 'index($2, d) == 1 {print $1}' | xargs -r scancel");
    }
    CliFixture::TearDown();
  }

  // `job wait`, bounded below ctest's limit, so that TearDown still runs
  // (and resumes the nodes) if a job never ends.
  int wait_job(const std::string& name) {
    return run_command("timeout 420 env " + env + BATCHAI_EXE + " job wait -g rg -w ws -e cifar -n " + name +
                       " --interval 1 >/dev/null").status;
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
    return wait_job(name);
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
  ASSERT_EQ(wait_job("faulted"), 0);
  expect_resumed("faulted", "nodeFailure", before);
}

// A crash, as the node's own processes see it: its slurmd, its step
// daemons and the job's processes there are killed at once (kill -9).
// Slurm declares the node down after SlurmdTimeout and requeues the job,
// which resumes on the nodes left.
TEST_F(FaultsOnTheCluster, ANodeWhoseSlurmdDiesWithItsStepsRequeuesAndResumes) {
  run_straight(kTraining);
  const auto created = batchai("job create -g rg -w ws -e cifar -n faulted -c nc6 -f " +
                               training_job("faulted", kTraining));
  ASSERT_EQ(created.status, 0) << created.err;
  ASSERT_TRUE(wait_for_file(out("faulted") / "checkpoint-1.h5", 180));
  struct stat before {};
  ASSERT_EQ(::stat((out("faulted") / "checkpoint-1.h5").c_str(), &before), 0);
  const auto nodes = nodes_of(slurm_id("faulted"));
  ASSERT_EQ(nodes.size(), 2u);
  const std::string& node = nodes[1];
  downed.push_back(node);
  // The node's daemons write its log; the job's processes there carry its
  // name. (Every emulated node is a process tree on this one host.)
  const auto fault = Clock::now();
  const auto killed = run_command(
      "for p in $(ls /proc | grep -E '^[0-9]+$'); do "
      "  if ls -l /proc/$p/fd 2>/dev/null | grep -q 'slurmd-" + node + "\\.log' || "
      "     tr '\\0' '\\n' </proc/$p/environ 2>/dev/null | grep -qx 'SLURMD_NODENAME=" + node + "'; then "
      "    kill -9 $p && echo $p; "
      "  fi; "
      "done");
  ASSERT_EQ(killed.status, 0) << killed.out;
  ASSERT_FALSE(killed.out.empty()) << "nothing of " << node << " to kill";
  const fs::path job_dir = json::value_to<std::string>(show("faulted").at("jobDirectory"));
  ASSERT_TRUE(wait_for_file(job_dir / "attempts/1", 240)) << "the job did not start again";
  std::cout << "[ figure ] slurmd killed to the job's restart: " << seconds_since(fault) << " s\n";
  ASSERT_EQ(run_command(std::string(BATCHAI_LOCALCLUSTER) + " up --dir " + cluster_dir.string()).status, 0);
  ASSERT_EQ(wait_job("faulted"), 0);
  expect_resumed("faulted", "nodeFailure", before);
}

// A low-priority job is preempted by a normal one: warned (USR1) first,
// it writes a checkpoint inside the epoch, goes back to the queue, and
// resumes once the preemptor is done.
TEST_F(FaultsOnTheCluster, APreemptedLowPriorityJobCheckpointsInTheEpochAndResumesToTheSameWeights) {
  ASSERT_EQ(batchai("cluster create -g rg -w ws -n low -s STANDARD_NC6 -t 4 --vm-priority lowpriority").status, 0);
  run_straight(kTraining);
  const auto created = batchai("job create -g rg -w ws -e cifar -n faulted -c low -f " +
                               training_job("faulted", kTraining));
  ASSERT_EQ(created.status, 0) << created.err;
  ASSERT_TRUE(wait_for_file(out("faulted") / "checkpoint-1.h5", 180));
  struct stat before {};
  ASSERT_EQ(::stat((out("faulted") / "checkpoint-1.h5").c_str(), &before), 0);
  // Every node, at normal priority: Slurm must take the low job's.
  const std::string preemptor = write_job("preemptor", R"({"nodeCount": 4,
      "customToolkitSettings": {"commandLine": "sleep 10"}, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR"})");
  const auto fault = Clock::now();
  ASSERT_EQ(batchai("job create -g rg -w ws -e cifar -n preemptor -c nc6 -f " + preemptor).status, 0);
  const fs::path job_dir = json::value_to<std::string>(show("faulted").at("jobDirectory"));
  ASSERT_TRUE(wait_for_file(job_dir / "attempts/1", 240)) << "the job did not start again";
  std::cout << "[ figure ] preemptor submitted to the low job's restart: " << seconds_since(fault) << " s\n";
  ASSERT_EQ(wait_job("faulted"), 0);
  expect_resumed("faulted", "preemption", before);
  auto shown = show("faulted");
  const std::string checkpoint = json::value_to<std::string>(shown.at("attempts").at(0).at("checkpoint"));
  EXPECT_NE(checkpoint.find("-step-"), std::string::npos) << "a checkpoint inside the epoch: " << checkpoint;
  auto preempting = show("preemptor");
  EXPECT_EQ(preempting.at("executionState"), "succeeded");
  EXPECT_LT(json::value_to<std::string>(preempting.at("executionInfo").at("startTime")),
            json::value_to<std::string>(shown.at("attempts").at(1).at("startTime")))
      << "the preemptor ran first";
}

// The time limit warns the job, which writes a checkpoint and ends failed
// with Batch AI's error naming it; batchai-train --resume continues from
// it to the weights of a run that had all the time it needed.
TEST_F(FaultsOnTheCluster, ATimeLimitEndsFailedNamingTheCheckpointAndResumeFinishesIt) {
  // A one-minute limit warns between 30 and 60 s in (Slurm checks limits
  // every 30 s); the training takes longer than the minute.
  const std::string site = slurp(dir / "site.json");
  std::ofstream(dir / "site.json") << site.substr(0, site.rfind('}')) << R"(, "checkpointSignalSeconds": 30})";
  const std::string training = "--epochs 3 --train-images 10240 --test-images 64 --seed 7";
  const auto created = batchai("job create -g rg -w ws -e cifar -n limited -c nc6 -f " +
                               training_job("limited", training, R"(, "constraints": {"maxWallClockTime": "00:01:00"})"));
  ASSERT_EQ(created.status, 0) << created.err;
  const auto waited = batchai("job wait -g rg -w ws -e cifar -n limited --interval 1");
  EXPECT_NE(waited.status, 0);
  auto shown = show("limited");
  ASSERT_EQ(shown.at("executionState"), "failed") << shown;
  const auto& error = shown.at("executionInfo").at("errors").at(0);
  EXPECT_EQ(error.at("code"), "JobMaxWallClockTimeReached") << shown;
  std::string checkpoint;
  for (const auto& d : error.at("details").as_array()) {
    if (d.at("name") == "checkpoint") checkpoint = json::value_to<std::string>(d.at("value"));
  }
  ASSERT_FALSE(checkpoint.empty()) << shown;
  EXPECT_NE(json::value_to<std::string>(error.at("message")).find(checkpoint), std::string::npos) << shown;
  const fs::path saved = out("limited") / fs::path(checkpoint).filename();
  EXPECT_TRUE(fs::exists(saved)) << saved;
  EXPECT_EQ(shown.at("attempts").at(0).at("endReason"), "timeLimit") << shown;
  EXPECT_NE((waited.out + waited.err).find("JobMaxWallClockTimeReached"), std::string::npos) << waited.out << waited.err;

  // Continued here, as a user would in a new job, and run straight through.
  const std::string local = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --oversubscribe " +
                            std::string(BATCHAI_TRAIN_EXE) + " --data " BATCHAI_TEST_DATA " --threads 1 " + training;
  const auto resumed = run_command(local + " --resume --dir " + out("limited").string() + " >/dev/null");
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  fs::create_directories(out("straight"));
  const auto straight = run_command(local + " --dir " + out("straight").string() + " >/dev/null");
  ASSERT_EQ(straight.status, 0) << straight.out;
  const auto model = [&](const std::string& n) { return weights(out(n) / "saved_models/keras_cifar10_trained_model.h5"); };
  EXPECT_EQ(model("limited"), model("straight"));
}

// The controller is killed (kill -9) while a job runs, and started again:
// the job goes on and succeeds, once; the CLI says clearly what is wrong
// while the controller is away.
TEST_F(FaultsOnTheCluster, AKilledControllerRestartsAndTheRunningJobSucceeds) {
  const std::string job = write_job("sleeper", R"({"nodeCount": 2,
      "customToolkitSettings": {"commandLine": "sleep 25; echo slept"}, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR"})");
  ASSERT_EQ(batchai("job create -g rg -w ws -e cifar -n sleeper -c nc6 -f " + job).status, 0);
  ASSERT_TRUE(wait_for("job show -g rg -w ws -e cifar -n sleeper --query executionState", "running"));
  // Killed once it has saved the job as running (within a second or two):
  // a controller killed before that restarts with the job pending, and
  // Slurm then drains the node that still runs it (a duplicate job id).
  const auto seen_running = fs::file_time_type::clock::now();
  for (int i = 0; i < 150 && fs::last_write_time(cluster_dir / "state/ctld/job_state") <= seen_running; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GT(fs::last_write_time(cluster_dir / "state/ctld/job_state"), seen_running);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::ifstream pidfile(cluster_dir / "run/slurmctld.pid");
  pid_t ctld = 0;
  pidfile >> ctld;
  ASSERT_GT(ctld, 0);
  ASSERT_EQ(::kill(ctld, SIGKILL), 0);
  for (int i = 0; i < 50 && ::kill(ctld, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  const auto start = Clock::now();
  const auto away = batchai("job show -g rg -w ws -e cifar -n sleeper");
  EXPECT_LT(seconds_since(start), 15);
  EXPECT_EQ(away.status, 1);
  EXPECT_TRUE(away.err.starts_with("batchai: error: ")) << away.err;
  EXPECT_EQ(std::count(away.err.begin(), away.err.end(), '\n'), 1) << away.err;

  ASSERT_EQ(run_command(std::string(BATCHAI_LOCALCLUSTER) + " up --dir " + cluster_dir.string()).status, 0);
  ASSERT_EQ(wait_job("sleeper"), 0);
  auto shown = show("sleeper");
  EXPECT_EQ(shown.at("executionState"), "succeeded") << shown;
  EXPECT_EQ(shown.at("restartCount"), 0) << shown;
  EXPECT_EQ(shown.at("attempts").as_array().size(), 1u) << shown;
}

}  // namespace
