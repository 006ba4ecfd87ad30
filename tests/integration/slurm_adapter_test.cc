// slurm::Client against a real Slurm: the local cluster (slurmctld and four
// slurmd, see share/batchai/localcluster) that the ctest fixture brings up.
// Without Slurm, every test here skips and says why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "integration/run_command.h"
#include "slurm/client.h"
#include "unit/temp_dir.h"

namespace batchai::slurm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class SlurmAdapter : public ::testing::Test {
 protected:
  std::unique_ptr<Client> client;
  fs::path dir;

  void SetUp() override {
    auto c = connect_libslurm();
    if (!c) GTEST_SKIP() << "no Slurm to test against: " << c.error().message;
    auto parts = (*c)->partitions();
    if (!parts) GTEST_SKIP() << "Slurm is configured but not answering: " << parts.error().message;
    client = std::move(*c);
    dir = batchai::testing::make_test_dir("batchai-slurm-test");
    ASSERT_FALSE(dir.empty()) << "cannot make a directory under " << fs::temp_directory_path();
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }

  SubmitRequest request(const std::string& body, std::uint32_t nodes) {
    SubmitRequest r;
    r.script = "#!/bin/bash\n" + body;
    r.name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    r.nodes = nodes;
    r.exclusive = true;
    r.work_dir = dir.string();
    r.std_out = (dir / "out-%j.txt").string();
    r.environment = {"PATH=/usr/bin:/bin", "BATCHAI_TEST_MARK=marked"};
    r.time_limit_minutes = 5;
    return r;
  }

  // Polls until the job is final (completing counts as not yet).
  JobInfo wait_final(JobId id, std::chrono::seconds limit = 120s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto job = client->job(id);
      EXPECT_TRUE(job) << (job ? "" : job.error().message);
      if (job && *job && is_final((*job)->state)) return **job;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "job " << id << " not final after " << limit.count() << " s";
        return job && *job ? **job : JobInfo{};
      }
      std::this_thread::sleep_for(200ms);
    }
  }

  JobInfo wait_state(JobId id, JobState want, std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto job = client->job(id);
      if (job && *job && (*job)->state == want) return **job;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "job " << id << " never reached " << to_string(want);
        return {};
      }
      std::this_thread::sleep_for(100ms);
    }
  }

  std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

TEST_F(SlurmAdapter, PartitionAndNodesAreVisible) {
  auto parts = client->partitions();
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_FALSE(parts->empty());
  auto nodes = client->nodes();
  ASSERT_TRUE(nodes) << nodes.error().message;
  EXPECT_GE(nodes->size(), 4u) << "the local cluster has 4 nodes";
  for (const auto& n : *nodes) EXPECT_NE(n.state, NodeState::unknown) << n.name;
}

TEST_F(SlurmAdapter, FourNodeJobRunsOneTaskPerNodeAndSucceeds) {
  auto id = client->submit(request(
      "srun --ntasks-per-node=1 -l bash -c 'echo \"node=$SLURMD_NODENAME mark=$BATCHAI_TEST_MARK\"'\n", 4));
  ASSERT_TRUE(id) << id.error().message;
  JobInfo job = wait_final(*id);
  EXPECT_EQ(job.state, JobState::completed) << job.reason;
  EXPECT_EQ(job.exit_code, 0);
  EXPECT_EQ(job.node_count, 4u);
  EXPECT_EQ(job.node_names.size(), 4u);
  EXPECT_GT(job.start_time, 0);
  EXPECT_GE(job.end_time, job.start_time);

  // One line per task, each from a different node, all seeing the job's env.
  std::string output = read(dir / ("out-" + std::to_string(*id) + ".txt"));
  std::set<std::string> nodes_seen;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    auto at = line.find("node=");
    ASSERT_NE(at, std::string::npos) << line;
    EXPECT_NE(line.find("mark=marked"), std::string::npos) << line;
    nodes_seen.insert(line.substr(at + 5, line.find(' ', at) - at - 5));
  }
  EXPECT_EQ(nodes_seen, (std::set<std::string>(job.node_names.begin(), job.node_names.end()))) << output;
}

TEST_F(SlurmAdapter, ExitCodeOfAFailingScriptIsReported) {
  auto id = client->submit(request("echo failing; exit 3\n", 2));
  ASSERT_TRUE(id) << id.error().message;
  JobInfo job = wait_final(*id);
  EXPECT_EQ(job.state, JobState::failed);
  EXPECT_EQ(job.exit_code, 3);
  EXPECT_EQ(job.signal, 0);
}

TEST_F(SlurmAdapter, CancellingARunningJobEndsItCancelled) {
  auto id = client->submit(request("srun sleep 300\n", 4));
  ASSERT_TRUE(id) << id.error().message;
  wait_state(*id, JobState::running);
  auto status = client->cancel(*id);
  ASSERT_TRUE(status) << status.error().message;
  JobInfo job = wait_final(*id, 60s);
  EXPECT_EQ(job.state, JobState::cancelled);
  // Cancelling again, now that it ended, is not an error.
  EXPECT_TRUE(client->cancel(*id));
}

TEST_F(SlurmAdapter, UnknownJobIsNotAnError) {
  auto job = client->job(4000000000u);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_FALSE(job->has_value());
}

TEST_F(SlurmAdapter, RefusedSubmissionsCarrySlurmsReason) {
  auto r = request("true\n", 1);
  r.partition = "no-such-partition";
  auto id = client->submit(r);
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message.find("submit: "), std::string::npos) << id.error().message;
  EXPECT_NE(id.error().message.find("partition"), std::string::npos) << id.error().message;
}

}  // namespace
}  // namespace batchai::slurm

namespace batchai::slurm {
namespace {

// What slurmdbd keeps after the controller forgets a job: the local cluster
// runs MariaDB and slurmdbd where they are installed.
TEST_F(SlurmAdapter, AccountingKeepsHowJobsEnded) {
  const auto config = testing::run_command("scontrol show config 2>&1");
  if (config.out.find("accounting_storage/slurmdbd") == std::string::npos) {
    GTEST_SKIP() << "this Slurm keeps no accounting (AccountingStorageType is not slurmdbd)";
  }
  auto failed = client->submit(request("exit 3\n", 2));
  ASSERT_TRUE(failed) << failed.error().message;
  auto held = request("true\n", 1);
  held.hold = true;
  auto cancelled = client->submit(held);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  ASSERT_TRUE(client->cancel(*cancelled));
  wait_final(*failed);
  wait_final(*cancelled);

  // slurmctld sends its records to slurmdbd a moment after the job ends.
  auto accounted = [&](JobId id) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      auto got = client->accounted_job(id);
      EXPECT_TRUE(got) << (got ? "" : got.error().message);
      if (!got) return JobInfo{};
      if (*got && is_final((*got)->state)) return **got;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "job " << id << " not in accounting as ended after 30 s";
        return JobInfo{};
      }
      std::this_thread::sleep_for(200ms);
    }
  };
  // Only what batchai reads: when slurmdbd gets a job's end before its
  // start, the record first has the end and a stand-in name ("allocation")
  // and no nodes, filled in when the start arrives.
  const JobInfo f = accounted(*failed);
  EXPECT_EQ(f.id, *failed);
  EXPECT_EQ(f.state, JobState::failed);
  EXPECT_EQ(f.exit_code, 3);
  EXPECT_EQ(f.signal, 0);
  EXPECT_GT(f.end_time, 0);
  const JobInfo c = accounted(*cancelled);
  EXPECT_EQ(c.id, *cancelled);
  EXPECT_EQ(c.state, JobState::cancelled);

  auto unknown = client->accounted_job(4000000000u);
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_FALSE(unknown->has_value());
}

}  // namespace
}  // namespace batchai::slurm
