// The global flags against the local cluster: every -o of a live cluster
// show says the same thing, --debug shows the real submission and the
// database's statements but no secret, --ids shows and deletes a real job
// by the id batchai printed, and --verbose, --no-wait, --only-show-errors
// and --subscription do what az's did. Skips without Slurm (CliFixture).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "integration/cli_fixture.h"
#include "integration/run_command.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using batchai::testing::CliFixture;
using batchai::testing::CliOutcome;

class CliGlobalFlags : public CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string d = dir.string();
    std::ofstream(dir / "site.json") << R"({
  "jobsRoot": ")" << d << R"(/jobs", "nodeTempRoot": ")" << d << R"(/tmp",
  "vmSizes": [{"name": "STANDARD_D2_V2", "partition": "batch"}],
  "containers": {"runtime": "none", "allowHostWithoutContainer": true}
})";
    ASSERT_EQ(batchai("configure --defaults group=rg workspace=ws").status, 0);
    ASSERT_EQ(batchai("workspace create -n ws").status, 0);
    ASSERT_EQ(batchai("experiment create -n e").status, 0);
    ASSERT_EQ(batchai("cluster create -n c -s STANDARD_D2_V2 -t 1").status, 0);
  }
};

// The fields of a cluster that do not move while the test runs.
constexpr const char* kSteady = "--query '{name: name, vmSize: vmSize, scaleSettings: scaleSettings, id: id}'";

TEST_F(CliGlobalFlags, EveryOutputFormatOfALiveClusterShowSaysTheSame) {
  const json::value want = batchai_json(std::string("cluster show -n c ") + kSteady);
  ASSERT_TRUE(want.is_object());
  // Not a terminal here, so the coloured forms are the plain ones, as az.
  EXPECT_EQ(batchai_json(std::string("cluster show -n c -o jsonc ") + kSteady), want);
  const CliOutcome yaml = batchai(std::string("cluster show -n c -o yaml ") + kSteady);
  ASSERT_EQ(yaml.status, 0) << yaml.err;
  EXPECT_EQ(batchai(std::string("cluster show -n c -o yamlc ") + kSteady).out, yaml.out);
  // Read back by PyYAML, the YAML az itself writes with.
  const fs::path y = dir / "show.yaml";
  std::ofstream(y) << yaml.out;
  const auto read = batchai::testing::run_command(
      "/usr/bin/python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' " +
      y.string() + " 2>&1");
  if (read.status != 0 && read.out.find("No module named 'yaml'") != std::string::npos) {
    GTEST_SKIP() << "PyYAML is not installed for /usr/bin/python3 (share/batchai/setup-deps)";
  }
  ASSERT_EQ(read.status, 0) << read.out;
  EXPECT_EQ(json::parse(read.out), want) << yaml.out;
  const CliOutcome tsv = batchai(std::string("cluster show -n c -o tsv ") + kSteady);
  EXPECT_NE(tsv.out.find("c\t"), std::string::npos) << tsv.out;
  const CliOutcome none = batchai("cluster show -n c -o none");
  EXPECT_EQ(none.status, 0) << none.err;
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(batchai("cluster show -n nope -o none").status, 1) << "none keeps the exit status";
}

TEST_F(CliGlobalFlags, DebugShowsTheSubmissionAndTheStatementsButNoSecret) {
  const std::string job = write_job("secret", R"({"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "customToolkitSettings": {"commandLine": "test ${#TOKEN} = 20"},
      "secrets": [{"name": "TOKEN", "value": "hunter2-secret-value"}]})");
  const CliOutcome created = batchai("job create -e e -n j -c c -f " + job + " --debug");
  ASSERT_EQ(created.status, 0) << created.err;
  EXPECT_NE(created.err.find("batchai: debug: slurm: submit name=j partition=batch nodes=1"), std::string::npos)
      << created.err;
  EXPECT_NE(created.err.find("batchai: debug: slurm: submit -> job "), std::string::npos) << created.err;
  EXPECT_NE(created.err.find("batchai: debug: sql: INSERT INTO jobs"), std::string::npos) << created.err;
  EXPECT_EQ(created.err.find("hunter2-secret-value"), std::string::npos) << "a secret reached --debug";
  EXPECT_EQ(created.out.find("hunter2-secret-value"), std::string::npos);
  const CliOutcome waited = batchai("job wait -e e -n j --interval 1");
  EXPECT_EQ(waited.status, 0) << "the job saw its secret: " << waited.err;
  // Without --debug, none of it.
  EXPECT_EQ(batchai("job show -e e -n j").err.find("debug:"), std::string::npos);
}

TEST_F(CliGlobalFlags, IdsShowAndDeleteARealJob) {
  const std::string job = write_job("quick", R"({"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "customToolkitSettings": {"commandLine": "true"}})");
  ASSERT_EQ(batchai("job create -e e -n j1 -c c -f " + job).status, 0);
  ASSERT_EQ(batchai("job create -e e -n j2 -c c -f " + job).status, 0);
  const CliOutcome ids = batchai("job list -e e --query '[].id' -o tsv");
  ASSERT_EQ(ids.status, 0) << ids.err;
  std::string words;
  for (char c : ids.out) words += c == '\n' ? ' ' : c;
  const json::value both = batchai_json("job show --ids " + words);
  ASSERT_TRUE(both.is_array()) << both;
  ASSERT_EQ(both.as_array().size(), 2u);
  EXPECT_EQ(both.as_array()[0].at("name"), "j1");
  EXPECT_EQ(batchai("job wait -e e -n j1 --interval 1").status, 0);
  EXPECT_EQ(batchai("job wait -e e -n j2 --interval 1").status, 0);
  const CliOutcome deleted = batchai("job delete -y --ids " + words);
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  EXPECT_EQ(batchai_json("job list -e e"), json::array{});
}

// --verbose says which Slurm job a create made, --no-wait prints nothing
// but still submits (job) or records (cluster), --only-show-errors keeps
// notes back but not errors, and --subscription is taken and changes
// nothing; all on real submissions.
TEST_F(CliGlobalFlags, VerboseNoWaitOnlyShowErrorsAndSubscription) {
  const std::string job = write_job("quick", R"({"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "customToolkitSettings": {"commandLine": "true"}})");
  const CliOutcome told = batchai("job create -e e -n loud -c c -f " + job +
                                  " --verbose --subscription 00000000-0000-0000-0000-000000000000");
  ASSERT_EQ(told.status, 0) << told.err;
  const json::value loud = json::parse(told.out);
  const std::string id = std::to_string(loud.at("slurmJobId").to_number<std::int64_t>());
  EXPECT_NE(told.err.find("job 'loud' is Slurm job " + id + " in partition 'batch'"), std::string::npos) << told.err;
  EXPECT_EQ(batchai::testing::run_command("squeue -h -o %i -j " + id).out.find(id), 0u);

  const CliOutcome quiet = batchai("job create -e e -n quiet -c c -f " + job + " --no-wait");
  EXPECT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "");
  const json::value submitted = batchai_json("job show -e e -n quiet --query slurmJobId");
  EXPECT_TRUE(submitted.is_number()) << submitted;
  const CliOutcome cluster = batchai("cluster create -n later -s STANDARD_D2_V2 -t 0 --no-wait");
  EXPECT_EQ(cluster.status, 0) << cluster.err;
  EXPECT_EQ(cluster.out, "");
  EXPECT_EQ(batchai_json("cluster show -n later --query name"), "later");

  // A note (an inert flag) is held back; an error is not.
  const CliOutcome noted = batchai("cluster create -n hushed -s STANDARD_D2_V2 -t 0 --subnet /x/subnets/s");
  EXPECT_NE(noted.err.find("--subnet is accepted"), std::string::npos) << noted.err;
  const CliOutcome hushed =
      batchai("cluster create -n hushed2 -s STANDARD_D2_V2 -t 0 --subnet /x/subnets/s --only-show-errors");
  EXPECT_EQ(hushed.status, 0);
  EXPECT_EQ(hushed.err, "");
  const CliOutcome missing = batchai("job show -e e -n nosuch --only-show-errors");
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err, "batchai: error: job 'nosuch' not found in experiment 'e' (workspace 'ws', resource group 'rg')\n");
  EXPECT_EQ(batchai("job wait -e e -n loud --interval 1").status, 0);
  EXPECT_EQ(batchai("job wait -e e -n quiet --interval 1").status, 0);
}

}  // namespace
