// A cluster's setup task on the local cluster, through the real `batchai`:
// it runs once per node for every job of its cluster, leaves one stdout
// file per node where Batch AI put them, `cluster file list` lists them,
// and a failing one fails the job with SetupTaskFailed. Skips without Slurm.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "integration/cli_fixture.h"

namespace batchai::testing {
namespace {

class ClusterSetupTask : public CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(batchai("workspace create -g rg -n ws").status, 0);
    ASSERT_EQ(batchai("experiment create -g rg -w ws -n e").status, 0);
    job = write_job("two", R"J({"nodeCount": 2, "stdOutErrPathPrefix": ")J" + (dir / "out").string() +
                               R"J(", "customToolkitSettings": {"commandLine": "echo job on $(hostname)"}})J");
  }
  std::string job;

  int lines(const fs::path& p) {
    std::ifstream in(p);
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
};

TEST_F(ClusterSetupTask, RunsOncePerNodePerJobAndIsListed) {
  ASSERT_EQ(batchai("cluster create -g rg -w ws -n c -s STANDARD_NC6 -t 2 --setup-task 'echo setup on $(hostname)'"
                    " --setup-task-output " + (dir / "setup").string()).status, 0);
  json::value shown = batchai_json("cluster show -g rg -w ws -n c");
  const std::string suffix(shown.at("nodeSetup").at("setupTask").at("stdOutErrPathSuffix").as_string());
  const fs::path out = dir / "setup" / suffix / "stdouterr";
  for (const char* name : {"j1", "j2"}) {
    ASSERT_EQ(batchai(std::string("job create -g rg -w ws -e e -c c -n ") + name + " -f " + job).status, 0);
    CliOutcome wait = batchai(std::string("job wait -g rg -w ws -e e -n ") + name + " --interval 1");
    ASSERT_EQ(wait.status, 0) << wait.out << wait.err;
  }
  int stdouts = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("stdout-")) continue;
    ++stdouts;
    // Once per job on each node: two jobs, two lines.
    EXPECT_EQ(lines(e.path()), 2) << name;
  }
  EXPECT_EQ(stdouts, 2);
  json::value listed = batchai_json("cluster file list -g rg -w ws -c c -p stdouterr");
  ASSERT_TRUE(listed.is_array());
  int listed_stdouts = 0;
  for (const auto& f : listed.as_array()) {
    const std::string name(f.at("name").as_string());
    if (name.starts_with("stdout-")) ++listed_stdouts;
    EXPECT_EQ(f.at("download_url"), json::value("file://" + (out / name).string()));
  }
  EXPECT_EQ(listed_stdouts, 2);
}

TEST_F(ClusterSetupTask, AFailingSetupTaskFailsTheJob) {
  ASSERT_EQ(batchai("cluster create -g rg -w ws -n bad -s STANDARD_NC6 -t 2 --setup-task 'echo no >&2; exit 3'"
                    " --setup-task-output " + (dir / "setup").string()).status, 0);
  ASSERT_EQ(batchai("job create -g rg -w ws -e e -c bad -n j -f " + job).status, 0);
  CliOutcome wait = batchai("job wait -g rg -w ws -e e -n j --interval 1");
  EXPECT_NE(wait.status, 0);
  json::value shown = batchai_json("job show -g rg -w ws -e e -n j");
  EXPECT_EQ(shown.at("executionState"), "failed");
  const auto& errors = shown.at("executionInfo").at("errors").as_array();
  ASSERT_FALSE(errors.empty()) << json::serialize(shown);
  EXPECT_EQ(errors[0].at("code"), "SetupTaskFailed");
  EXPECT_NE(std::string(errors[0].at("message").as_string()).find("exit code 3"), std::string::npos);
}

// A cluster.json (the 2018-05-01 schema) with a setup task and properties
// that mean nothing on Slurm, and az's inert flags beside it: each inert
// one is a note, no secret is printed, and the cluster's jobs run with its
// setup task and environment.
TEST_F(ClusterSetupTask, AClusterJsonWithInertPartsRunsItsJobs) {
  const fs::path file = dir / "cluster.json";
  std::ofstream(file) << R"J({"properties": {"vmSize": "STANDARD_NC6", "vmPriority": "dedicated",
      "scaleSettings": {"manual": {"targetNodeCount": 2}},
      "nodeSetup": {"setupTask": {"commandLine": "echo $GREETING from $(hostname)", "stdOutErrPathPrefix": ")J"
                      << (dir / "setup").string() << R"J(",
                    "environmentVariables": [{"name": "GREETING", "value": "hello"}]}},
      "userAccountSettings": {"adminUserName": "demo", "adminUserPassword": "file-secret-1"},
      "subnet": {"id": "/subscriptions/x/subnets/s"}}})J";
  CliOutcome created = batchai("cluster create -g rg -w ws -n fromfile -f " + file.string() +
                               " --custom-image /img -u admin --password flag-secret-2 --generate-ssh-keys"
                               " --use-auto-storage --subnet /subscriptions/x/subnets/t");
  ASSERT_EQ(created.status, 0) << created.err;
  for (const std::string said : {"--custom-image", "--user-name", "--password", "--generate-ssh-keys",
                                 "--use-auto-storage", "--subnet"}) {
    EXPECT_NE(created.err.find(said + " is accepted; on Slurm "), std::string::npos) << said << "\n" << created.err;
  }
  for (const std::string said : {"properties.userAccountSettings", "properties.subnet"}) {
    EXPECT_NE(created.err.find(file.string() + ": " + said + " is accepted; on Slurm"), std::string::npos)
        << said << "\n" << created.err;
  }
  for (const std::string secret : {"file-secret-1", "flag-secret-2"}) {
    EXPECT_EQ(created.err.find(secret), std::string::npos) << created.err;
    EXPECT_EQ(created.out.find(secret), std::string::npos) << created.out;
  }
  json::value shown = batchai_json("cluster show -g rg -w ws -n fromfile");
  EXPECT_EQ(shown.at("scaleSettings").at("manual").at("targetNodeCount"), 2);
  EXPECT_EQ(shown.at("vmPriority"), "dedicated");
  const std::string suffix(shown.at("nodeSetup").at("setupTask").at("stdOutErrPathSuffix").as_string());
  ASSERT_EQ(batchai("job create -g rg -w ws -e e -c fromfile -n j -f " + job).status, 0);
  CliOutcome wait = batchai("job wait -g rg -w ws -e e -n j --interval 1");
  ASSERT_EQ(wait.status, 0) << wait.out << wait.err;
  int greeted = 0;
  for (const auto& e : fs::directory_iterator(dir / "setup" / suffix / "stdouterr")) {
    if (!e.path().filename().string().starts_with("stdout-")) continue;
    std::ifstream in(e.path());
    std::string line;
    std::getline(in, line);
    EXPECT_TRUE(line.starts_with("hello from ")) << line;
    ++greeted;
  }
  EXPECT_EQ(greeted, 2);
}

}  // namespace
}  // namespace batchai::testing
