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

}  // namespace
}  // namespace batchai::testing
