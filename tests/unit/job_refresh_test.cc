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
