// job_attempts: the attempt records job runtime 3 leaves in a job
// directory, as `job show` lists them.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "frontend/commands/job_attempts.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

TEST(JobAttempts, ComeFromTheJobDirectoryInAttemptOrder) {
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(job_attempts(dir.path().string()).empty()) << "no attempts directory: none";
  std::filesystem::create_directories(dir.path() / "attempts");
  std::ofstream(dir.path() / "attempts/0") << "attempt=0\nslurm_job_id=42\nnodes=node[1-2]\n"
                                              "start_time=2026-12-06T10:00:00Z\ncheckpoint=/r/checkpoint-1.h5\n"
                                              "end_time=2026-12-06T10:03:00Z\nexit_code=143\nend_reason=nodeFailure\n";
  // The tenth attempt sorts after the second, and one still running has no end.
  std::ofstream(dir.path() / "attempts/10") << "attempt=10\nslurm_job_id=42\nstart_time=2026-12-06T11:00:00Z\n";
  std::ofstream(dir.path() / "attempts/2") << "attempt=2\nslurm_job_id=42\nexit_code=seven\nend_reason=preemption\n";
  std::ofstream(dir.path() / "attempts/.2.123") << "attempt=2\n";  // a record being written
  const json::array a = job_attempts(dir.path().string());
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].at("attempt"), 1);
  EXPECT_EQ(a[0].at("slurmJobId"), 42);
  EXPECT_EQ(a[0].at("nodes"), "node[1-2]");
  EXPECT_EQ(a[0].at("endReason"), "nodeFailure");
  EXPECT_EQ(a[0].at("exitCode"), 143);
  EXPECT_EQ(a[0].at("checkpoint"), "/r/checkpoint-1.h5");
  EXPECT_EQ(a[1].at("attempt"), 3);
  EXPECT_TRUE(a[1].at("exitCode").is_null()) << "written by the job: only whole numbers are numbers";
  EXPECT_FALSE(a[1].as_object().contains("checkpoint"));
  EXPECT_EQ(a[2].at("attempt"), 11);
  EXPECT_TRUE(a[2].at("endTime").is_null());
  EXPECT_TRUE(a[2].at("endReason").is_null());
}

}  // namespace
}  // namespace batchai::frontend
