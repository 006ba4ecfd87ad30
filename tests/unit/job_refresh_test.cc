// refresh_job: where a job's Batch AI state comes from when the controller
// knows the job, when it has purged it and the script recorded the end, and
// when only accounting (sacct's source) still knows how it ended.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fake_slurm.h"
#include "frontend/commands/job_common.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;
using slurm::JobState;
using testing::FakeSlurm;
using testing::job_in;

class JobRefresh : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = batchai::testing::make_test_dir("batchai-refresh");
    ASSERT_FALSE(dir.empty());
    job.key = {"g", "w", "e", "j"};
    job.job_dir = dir.string();
    job.slurm_job_id = 42;
    job.state = state::ExecutionState::queued;
    job.created = 1000;
  }
  void TearDown() override {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }

  void record(const std::string& text) { std::ofstream(dir / "execution") << text; }

  std::filesystem::path dir;
  state::Job job;
  FakeSlurm slurm;
};

TEST_F(JobRefresh, TheControllerAnswersWhileItKnowsTheJob) {
  auto running = job_in(42, JobState::running);
  running.start_time = 2000;
  slurm.job_answers[42] = {running};
  auto changed = refresh_job(job, slurm, 3000);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_TRUE(*changed);
  EXPECT_EQ(job.state, state::ExecutionState::running);
  EXPECT_EQ(job.start_time, 2000);
  EXPECT_EQ(job.state_time, 3000);
}

// A lost node sends the job back to the queue: Slurm shows the requeue,
// then PENDING, then a second start. The job is queued again, never final
// on the way, and its start stays the first attempt's.
TEST_F(JobRefresh, ARequeuedJobStaysQueuedAndKeepsItsFirstStart) {
  auto running = job_in(42, JobState::running);
  running.start_time = 2000;
  auto requeued = job_in(42, JobState::requeued);
  requeued.start_time = 2000;
  auto pending = job_in(42, JobState::pending);
  pending.restart_count = 1;
  auto again = job_in(42, JobState::running);
  again.start_time = 2600;
  again.restart_count = 1;
  auto done = job_in(42, JobState::completed);
  done.start_time = 2600;
  done.end_time = 2900;
  slurm.job_answers[42] = {running, requeued, pending, again, done};
  std::vector<state::ExecutionState> seen;
  for (std::time_t now = 3000; now < 3005; ++now) {
    ASSERT_TRUE(refresh_job(job, slurm, now));
    seen.push_back(job.state);
    EXPECT_EQ(job.start_time, 2000) << "poll " << seen.size();
  }
  using E = state::ExecutionState;
  EXPECT_EQ(seen, (std::vector<E>{E::running, E::queued, E::queued, E::running, E::succeeded}));
  EXPECT_EQ(job.end_time, 2900);
}

// The CLI may never have seen the first attempt run; the job's own record
// has its start.
TEST_F(JobRefresh, TheFirstStartComesFromTheJobsRecordWhenTheCliMissedIt) {
  record("slurm_job_id=42\nstart_time=2026-11-24T10:00:00Z\nrestart_count=1\n");
  auto again = job_in(42, JobState::running);
  again.start_time = 1'795'600'000;
  slurm.job_answers[42] = {again};
  ASSERT_TRUE(refresh_job(job, slurm, 3000));
  EXPECT_EQ(job.state, state::ExecutionState::running);
  EXPECT_EQ(job.start_time, 1'795'514'400);  // 2026-11-24T10:00:00Z
}

// The secrets stay while the job may be started again, and go at its end.
TEST_F(JobRefresh, TheSecretsGoOnceTheJobIsFinal) {
  std::ofstream(dir / "secrets.env") << "export TOKEN=t\n";
  slurm.job_answers[42] = {job_in(42, JobState::requeued), job_in(42, JobState::cancelled)};
  ASSERT_TRUE(refresh_job(job, slurm, 3000));
  EXPECT_TRUE(fs::exists(dir / "secrets.env"));
  ASSERT_TRUE(refresh_job(job, slurm, 3001));
  EXPECT_EQ(job.state, state::ExecutionState::failed);
  EXPECT_FALSE(fs::exists(dir / "secrets.env"));
}

TEST_F(JobRefresh, APurgedJobEndsAsItsScriptRecorded) {
  record("start_time=2026-11-24T10:00:00Z\nend_time=2026-11-24T10:05:00Z\nexit_code=3\n");
  slurm.accounted[42] = job_in(42, JobState::completed);  // not asked: the record has the end
  ASSERT_TRUE(refresh_job(job, slurm, 3000));
  EXPECT_EQ(job.state, state::ExecutionState::failed);
  EXPECT_EQ(job.exit_code, 3);
  EXPECT_NE(job.errors_json.find("JobFailed"), std::string::npos) << job.errors_json;
  EXPECT_GT(job.end_time, job.start_time);
}

TEST_F(JobRefresh, APurgedJobWithoutARecordedEndEndsAsAccountingRecorded) {
  // Cancelled while pending: the script never ran, so there is no record.
  auto cancelled = job_in(42, JobState::cancelled);
  cancelled.start_time = 2500;
  cancelled.end_time = 2500;
  slurm.accounted[42] = cancelled;
  ASSERT_TRUE(refresh_job(job, slurm, 3000));
  EXPECT_EQ(job.state, state::ExecutionState::failed);
  EXPECT_NE(job.errors_json.find("JobTerminated"), std::string::npos) << job.errors_json;
  EXPECT_EQ(job.end_time, 2500);

  // Killed with its node after the script recorded its start.
  state::Job other = job;
  other.state = state::ExecutionState::running;
  other.errors_json.clear();
  record("start_time=2026-11-24T10:00:00Z\n");
  auto node_fail = job_in(42, JobState::node_fail, 0, 9);
  node_fail.end_time = 2600;
  node_fail.reason = "NodeDown";
  slurm.accounted[42] = node_fail;
  ASSERT_TRUE(refresh_job(other, slurm, 3000));
  EXPECT_EQ(other.state, state::ExecutionState::failed);
  EXPECT_EQ(other.exit_code, 128 + 9);
  EXPECT_NE(other.errors_json.find("NODE_FAIL"), std::string::npos) << other.errors_json;
  EXPECT_NE(other.start_time, 0);
}

TEST_F(JobRefresh, ErrorsTheNodesRecordedReplaceTheGenericOne) {
  fs::create_directories(dir / "errors");
  std::ofstream(dir / "errors" / "node2.json")
      << R"({"code":"MountError","message":"volume 'data' on node2: gone","details":[]})";
  std::ofstream(dir / "errors" / "node1.json")
      << R"({"code":"JobPreparationFailed","message":"jobPreparation exited with code 3 on node1","details":[]})";
  std::ofstream(dir / "errors" / "node3.json") << "{not json";  // written by the job: skipped
  slurm.job_answers[42] = {job_in(42, JobState::failed, 1)};
  ASSERT_TRUE(refresh_job(job, slurm, 3000));
  EXPECT_EQ(job.state, state::ExecutionState::failed);
  EXPECT_EQ(job.errors_json,
            R"([{"code":"JobPreparationFailed","message":"jobPreparation exited with code 3 on node1","details":[]},)"
            R"({"code":"MountError","message":"volume 'data' on node2: gone","details":[]}])");
}

TEST_F(JobRefresh, WithoutAccountingAPurgedJobWithoutARecordIsLost) {
  ASSERT_TRUE(refresh_job(job, slurm, 3000));
  EXPECT_EQ(job.state, state::ExecutionState::failed);
  EXPECT_NE(job.errors_json.find("JobLost"), std::string::npos) << job.errors_json;
}

TEST_F(JobRefresh, UnreachableAccountingChangesNothing) {
  slurm.accounting_fails_with = "accounting: cannot reach slurmdbd";
  auto changed = refresh_job(job, slurm, 3000);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().message, "accounting: cannot reach slurmdbd");
  EXPECT_EQ(job.state, state::ExecutionState::queued);  // not lost: asked again next time
}

}  // namespace
}  // namespace batchai::frontend
