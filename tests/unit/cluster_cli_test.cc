// `cluster create --vm-priority` through the CLI, with the fake Slurm and
// real SQLite and records: a low-priority cluster is bound to its VM size's
// low-priority partition and the site's low-priority QOS, its jobs are
// submitted there, it says so in `cluster show`, and a rebuilt database
// keeps it. Each command opens the database anew, as each `batchai` does.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_slurm.h"
#include "frontend/cli.h"
#include "frontend/commands/state_records.h"
#include "unit/run_cli.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using batchai::testing::FakeSlurm;

class ClusterPriority : public ::testing::Test {
 protected:
  FakeSlurm fake;
  std::ostringstream out, help;
  Context ctx;
  fs::path dir;
  std::string err, job, conf;

  void SetUp() override {
    dir = batchai::testing::make_test_dir("batchai-cluster-cli-test");
    ASSERT_FALSE(dir.empty());
    ctx.out = &out;
    ctx.slurm = [this]() -> Result<slurm::Client*> { return &fake; };
    ctx.sleep = [](std::chrono::milliseconds) {};
    conf = (dir / "site.json").string();
    // NC6 has a low-priority partition; D4 does not.
    site(R"("lowPriority": {"qos": "scavenger"})");
    ctx.environment = {"PATH=/usr/bin", "HOME=" + dir.string(), "BATCHAI_CONF=" + conf,
                       "BATCHAI_DEFAULT_GROUP=rg", "BATCHAI_DEFAULT_WORKSPACE=ws"};
    ctx.state_dir = (dir / "state").string();
    job = (dir / "job.json").string();
    write_job("normal");
    for (const char* name : {"batch", "lowpri"}) {
      slurm::PartitionInfo p;
      p.name = name;
      p.is_default = p.name == "batch";
      p.total_nodes = 4;
      fake.partition_list.push_back(p);
    }
    ASSERT_EQ(run({"workspace", "create", "-n", "ws"}), 0) << err;
    ASSERT_EQ(run({"experiment", "create", "-n", "e"}), 0) << err;
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }

  // The site file, with `extra` top-level keys.
  void site(const std::string& extra) {
    std::ofstream(conf) << R"({"jobsRoot": ")" << (dir / "jobs").string() << R"(",
        "vmSizes": [{"name": "STANDARD_NC6", "partition": "batch", "lowPriorityPartition": "lowpri", "gpusPerNode": 1},
                    {"name": "STANDARD_D4_v3", "partition": "batch"}],
        "schedulingPriority": {"high": {"qos": "high"}})"
                        << (extra.empty() ? "" : ", " + extra) << "}";
  }
  void write_job(const std::string& priority) {
    std::ofstream(job) << R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
        "schedulingPriority": ")" << priority << R"(", "customToolkitSettings": {"commandLine": "echo hi"}}})";
  }

  // One command line, as one process.
  int run(std::vector<std::string> argv) {
    out.str("");
    ctx.store = state_opener(ctx);
    const int rc = batchai::testing::run_cli(argv, ctx, help, err);
    ctx.store = nullptr;
    return rc;
  }
  json::object shown(const std::string& cluster) {
    EXPECT_EQ(run({"cluster", "show", "-n", cluster}), 0) << err;
    return json::parse(out.str()).as_object();
  }
  // The request job create gave Slurm for a job on `cluster`.
  slurm::SubmitRequest submit(const std::string& name, const std::string& cluster) {
    const std::size_t before = fake.submitted.size();
    EXPECT_EQ(run({"job", "create", "-e", "e", "-n", name, "-c", cluster, "-f", job}), 0) << err;
    EXPECT_EQ(fake.submitted.size(), before + 1);
    return fake.submitted.empty() ? slurm::SubmitRequest{} : fake.submitted.back();
  }
};

TEST_F(ClusterPriority, ALowPriorityClusterIsBoundToItsSizesLowPriorityPartition) {
  ASSERT_EQ(run({"cluster", "create", "-n", "low", "-s", "STANDARD_NC6", "-t", "2", "--vm-priority", "lowpriority"}),
            0) << err;
  auto created = json::parse(out.str()).as_object();
  EXPECT_EQ(created.at("vmPriority"), "lowpriority");
  EXPECT_EQ(created.at("partition"), "lowpri");
  ASSERT_EQ(run({"cluster", "create", "-n", "normal", "-s", "STANDARD_NC6", "-t", "2"}), 0) << err;
  auto low = shown("low"), normal = shown("normal");
  EXPECT_EQ(low.at("vmPriority"), "lowpriority");
  EXPECT_EQ(low.at("partition"), "lowpri");
  EXPECT_EQ(normal.at("vmPriority"), "dedicated");
  EXPECT_EQ(normal.at("partition"), "batch");
  ASSERT_EQ(run({"cluster", "list", "--query", "[].vmPriority", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "lowpriority\ndedicated\n");
  // az matched the value case-insensitively, and "dedicated" can be said.
  ASSERT_EQ(run({"cluster", "create", "-n", "low2", "-s", "STANDARD_NC6", "-t", "1", "--vm-priority", "LowPriority"}),
            0) << err;
  EXPECT_EQ(shown("low2").at("vmPriority"), "lowpriority");
  ASSERT_EQ(run({"cluster", "create", "-n", "ded", "-s", "STANDARD_NC6", "-t", "1", "--vm-priority", "dedicated"}), 0)
      << err;
  EXPECT_EQ(shown("ded").at("vmPriority"), "dedicated");
}

TEST_F(ClusterPriority, ItsJobsGoToItsPartitionWithTheLowPriorityQos) {
  ASSERT_EQ(run({"cluster", "create", "-n", "low", "-s", "STANDARD_NC6", "-t", "2", "--vm-priority", "lowpriority"}),
            0) << err;
  ASSERT_EQ(run({"cluster", "create", "-n", "normal", "-s", "STANDARD_NC6", "-t", "2"}), 0) << err;
  auto r = submit("j1", "low");
  EXPECT_EQ(r.partition, "lowpri");
  EXPECT_EQ(r.qos, "scavenger");
  auto n = submit("j2", "normal");
  EXPECT_EQ(n.partition, "batch");
  EXPECT_EQ(n.qos, "");
  // The cluster's QOS wins over the one "high" maps to, and says so.
  write_job("high");
  auto high = submit("j3", "low");
  EXPECT_EQ(high.qos, "scavenger");
  EXPECT_NE(err.find("cluster low is low-priority, so the job gets its QOS \"scavenger\", not \"high\""),
            std::string::npos) << err;
  EXPECT_EQ(submit("j4", "normal").qos, "high");
  // Low keeps its nice (the built-in 100) on either cluster.
  write_job("low");
  auto low_low = submit("j5", "low");
  EXPECT_EQ(low_low.qos, "scavenger");
  EXPECT_EQ(low_low.nice, 100);
}

TEST_F(ClusterPriority, ASizeWithoutALowPriorityPartitionUsesTheQosAlone) {
  ASSERT_EQ(run({"cluster", "create", "-n", "low", "-s", "STANDARD_D4_v3", "-t", "2", "--vm-priority",
                 "lowpriority"}), 0) << err;
  EXPECT_EQ(shown("low").at("partition"), "batch");
  auto r = submit("j", "low");
  EXPECT_EQ(r.partition, "batch");
  EXPECT_EQ(r.qos, "scavenger");
}

TEST_F(ClusterPriority, APartitionWithoutAQosIsEnough) {
  site("");
  ASSERT_EQ(run({"cluster", "create", "-n", "low", "-s", "STANDARD_NC6", "-t", "2", "--vm-priority", "lowpriority"}),
            0) << err;
  auto r = submit("j", "low");
  EXPECT_EQ(r.partition, "lowpri");
  EXPECT_EQ(r.qos, "");
}

TEST_F(ClusterPriority, ASiteWithNeitherRefusesItAndWritesNothing) {
  site("");
  EXPECT_EQ(run({"cluster", "create", "-n", "low", "-s", "STANDARD_D4_v3", "-t", "2", "--vm-priority",
                 "lowpriority"}), 1);
  EXPECT_EQ(err, "batchai: error: --vm-priority: lowpriority needs a partition or QOS that Slurm may preempt, and " +
                     conf + " gives VM size STANDARD_D4_v3 neither (vmSizes[].lowPriorityPartition, " +
                     "lowPriority.qos)\n");
  EXPECT_EQ(run({"cluster", "show", "-n", "low"}), 1);
  EXPECT_FALSE(fs::exists(dir / "jobs/rg/workspaces/ws/clusters/low"));
  // Dedicated needs neither.
  EXPECT_EQ(run({"cluster", "create", "-n", "low", "-s", "STANDARD_D4_v3", "-t", "2"}), 0) << err;
}

TEST_F(ClusterPriority, BadValuesAndMissingPartitionsAreOneLineErrors) {
  EXPECT_EQ(run({"cluster", "create", "-n", "c", "-s", "STANDARD_NC6", "-t", "2", "--vm-priority", "spot"}), 1);
  EXPECT_EQ(err, "batchai: error: --vm-priority: expected dedicated or lowpriority, got 'spot'\n");
  fake.partition_list.pop_back();  // Slurm has no lowpri
  EXPECT_EQ(run({"cluster", "create", "-n", "c", "-s", "STANDARD_NC6", "-t", "2", "--vm-priority", "lowpriority"}), 1);
  EXPECT_EQ(err, "batchai: error: --vm-priority: STANDARD_NC6's lowPriorityPartition is 'lowpri' in " + conf +
                     ", which Slurm does not have\n");
  EXPECT_EQ(run({"cluster", "show", "-n", "c"}), 1);
}

TEST_F(ClusterPriority, ARebuiltDatabaseKeepsIt) {
  ASSERT_EQ(run({"cluster", "create", "-n", "low", "-s", "STANDARD_NC6", "-t", "2", "--vm-priority", "lowpriority"}),
            0) << err;
  ASSERT_EQ(run({"cluster", "create", "-n", "normal", "-s", "STANDARD_NC6", "-t", "2"}), 0) << err;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(ctx.state_dir + "/state.db" + suffix);
  auto low = shown("low");
  EXPECT_NE(err.find("rebuilt"), std::string::npos) << err;
  EXPECT_EQ(low.at("vmPriority"), "lowpriority");
  EXPECT_EQ(low.at("partition"), "lowpri");
  EXPECT_EQ(shown("normal").at("vmPriority"), "dedicated");
  EXPECT_EQ(submit("j", "low").qos, "scavenger");
}

}  // namespace
}  // namespace batchai::frontend
