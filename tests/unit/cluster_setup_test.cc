// `cluster create --setup-task`, its inert flags and `cluster file list`
// through the CLI, with the fake Slurm and real SQLite and records: the
// setup task is kept with the cluster (and by a rebuild), shown as az showed
// it, handed to each of its jobs' scripts, and its output listed.
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

class ClusterSetup : public ::testing::Test {
 protected:
  FakeSlurm fake;
  std::ostringstream out, help;
  Context ctx;
  fs::path dir;
  std::string err, job, conf;

  void SetUp() override {
    dir = batchai::testing::make_test_dir("batchai-cluster-setup-test");
    ASSERT_FALSE(dir.empty());
    ctx.out = &out;
    ctx.slurm = [this]() -> Result<slurm::Client*> { return &fake; };
    ctx.sleep = [](std::chrono::milliseconds) {};
    conf = (dir / "site.json").string();
    std::ofstream(conf) << R"({"jobsRoot": ")" << (dir / "jobs").string() << R"(", "mountRoot": ")"
                        << (dir / "mounts").string() << R"(",
        "vmSizes": [{"name": "STANDARD_D4_v3", "partition": "batch"}]})";
    ctx.environment = {"PATH=/usr/bin", "HOME=" + dir.string(), "BATCHAI_CONF=" + conf,
                       "BATCHAI_DEFAULT_GROUP=rg", "BATCHAI_DEFAULT_WORKSPACE=ws"};
    ctx.state_dir = (dir / "state").string();
    job = (dir / "job.json").string();
    std::ofstream(job) << R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
        "customToolkitSettings": {"commandLine": "echo hi"}}})";
    slurm::PartitionInfo p;
    p.name = "batch";
    p.is_default = true;
    p.total_nodes = 4;
    fake.partition_list.push_back(p);
    ASSERT_EQ(run({"workspace", "create", "-n", "ws"}), 0) << err;
    ASSERT_EQ(run({"experiment", "create", "-n", "e"}), 0) << err;
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }

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
  std::string script_of(const std::string& name, const std::string& cluster) {
    const std::size_t before = fake.submitted.size();
    EXPECT_EQ(run({"job", "create", "-e", "e", "-n", name, "-c", cluster, "-f", job}), 0) << err;
    EXPECT_EQ(fake.submitted.size(), before + 1);
    return fake.submitted.empty() ? std::string() : fake.submitted.back().script;
  }
  int create_with_setup(const std::string& name) {
    return run({"cluster", "create", "-n", name, "-s", "STANDARD_D4_v3", "-t", "2", "--setup-task",
                "echo setup on $(hostname)", "--setup-task-output", "$AZ_BATCHAI_MOUNT_ROOT/logs/"});
  }
};

TEST_F(ClusterSetup, IsShownAsAzShowedItAndReachesEveryJobScript) {
  ASSERT_EQ(create_with_setup("c"), 0) << err;
  auto c = shown("c");
  const auto& task = c.at("nodeSetup").at("setupTask").as_object();
  EXPECT_EQ(task.at("commandLine"), "echo setup on $(hostname)");
  EXPECT_EQ(task.at("stdOutErrPathPrefix"), "$AZ_BATCHAI_MOUNT_ROOT/logs");
  const std::string suffix(task.at("stdOutErrPathSuffix").as_string());
  ASSERT_TRUE(suffix.starts_with("rg/workspaces/ws/clusters/c/")) << suffix;
  EXPECT_EQ(suffix.size(), std::string("rg/workspaces/ws/clusters/c/").size() + 36);
  const std::string script = script_of("j1", "c");
  EXPECT_NE(script.find("batchai_setup_task='echo setup on $(hostname)'"), std::string::npos) << script;
  EXPECT_NE(script.find("batchai_setup_output=\"$AZ_BATCHAI_MOUNT_ROOT/logs/" + suffix + "/stdouterr\""),
            std::string::npos) << script;
  // A cluster without one: nodeSetup null, and no setup lines in its jobs.
  ASSERT_EQ(run({"cluster", "create", "-n", "plain", "-s", "STANDARD_D4_v3", "-t", "2"}), 0) << err;
  EXPECT_TRUE(shown("plain").at("nodeSetup").is_null());
  EXPECT_EQ(script_of("j2", "plain").find("batchai_setup"), std::string::npos);
}

TEST_F(ClusterSetup, BadFlagsAreOneLineErrorsAndWriteNothing) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--setup-task", "echo x"}, "--setup-task-output: required with --setup-task (where its output goes)"},
      {{"--setup-task-output", "/logs"}, "--setup-task-output: only with --setup-task"},
      {{"--setup-task", "echo x", "--setup-task-output", "logs"},
       "--setup-task-output: expected an absolute path, or one under $AZ_BATCHAI_MOUNT_ROOT, got 'logs'"},
      {{"--setup-task", "echo x", "--setup-task-output", "$HOME/logs"},
       "--setup-task-output: expected an absolute path, or one under $AZ_BATCHAI_MOUNT_ROOT, got '$HOME/logs'"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> argv = {"cluster", "create", "-n", "c", "-s", "STANDARD_D4_v3", "-t", "2"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    EXPECT_EQ(run(argv), 1);
    EXPECT_EQ(err, "batchai: error: " + message + "\n");
  }
  EXPECT_EQ(run({"cluster", "show", "-n", "c"}), 1);
  EXPECT_FALSE(fs::exists(dir / "jobs/rg/workspaces/ws/clusters/c"));
}

TEST_F(ClusterSetup, ARebuiltDatabaseKeepsIt) {
  ASSERT_EQ(create_with_setup("c"), 0) << err;
  const json::value before = shown("c").at("nodeSetup");
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(ctx.state_dir + "/state.db" + suffix);
  auto c = shown("c");
  EXPECT_NE(err.find("rebuilt"), std::string::npos) << err;
  EXPECT_EQ(c.at("nodeSetup"), before);
}

TEST_F(ClusterSetup, FileListShowsItsOutputAsAzsLogFiles) {
  ASSERT_EQ(run({"cluster", "create", "-n", "plain", "-s", "STANDARD_D4_v3", "-t", "1"}), 0) << err;
  ASSERT_EQ(run({"cluster", "file", "list", "-c", "plain"}), 0) << err;
  EXPECT_EQ(json::parse(out.str()), json::array{});
  ASSERT_EQ(create_with_setup("c"), 0) << err;
  // Nothing ran yet: nothing to list.
  ASSERT_EQ(run({"cluster", "file", "list", "-c", "c"}), 0) << err;
  EXPECT_EQ(json::parse(out.str()), json::array{});
  const std::string suffix(shown("c").at("nodeSetup").at("setupTask").at("stdOutErrPathSuffix").as_string());
  const fs::path root = dir / "mounts/logs" / suffix;
  fs::create_directories(root / "stdouterr");
  std::ofstream(root / "stdouterr/stdout-node1.txt") << "setup on node1\n";
  std::ofstream(root / "stdouterr/stderr-node1.txt");
  ASSERT_EQ(run({"cluster", "file", "list", "-c", "c"}), 0) << err;
  EXPECT_EQ(json::parse(out.str()),
            json::parse(R"([{"name": "stdouterr", "is_directory": true, "size": 0, "download_url": null}])"));
  ASSERT_EQ(run({"cluster", "file", "list", "-c", "c", "-p", "stdouterr", "--expiry", "60"}), 0) << err;
  const std::string url = "file://" + (root / "stdouterr").string();
  EXPECT_EQ(json::parse(out.str()), json::parse(R"([
      {"name": "stderr-node1.txt", "is_directory": false, "size": 0, "download_url": ")" + url +
                                                  R"(/stderr-node1.txt"},
      {"name": "stdout-node1.txt", "is_directory": false, "size": 15, "download_url": ")" + url +
                                                  R"(/stdout-node1.txt"}])"));
  ASSERT_EQ(run({"cluster", "file", "list", "-c", "c", "-p", "stdouterr", "-o", "table"}), 0) << err;
  EXPECT_NE(out.str().find("Is directory"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("stdout-node1.txt  no"), std::string::npos) << out.str();
  EXPECT_EQ(run({"cluster", "file", "list", "-c", "c", "-p", "../.."}), 1);
  EXPECT_EQ(err, "batchai: error: --path: '../..' leaves the directory\n");
  EXPECT_EQ(run({"cluster", "file", "list", "-c", "nope"}), 1);
}

TEST_F(ClusterSetup, InertFlagsSayWhatTheyWouldHaveDoneAndChangeNothing) {
  ASSERT_EQ(run({"cluster", "create", "-n", "c", "-s", "STANDARD_D4_v3", "-t", "1", "--subnet", "/x/subnets/s",
                 "--use-auto-storage", "--nfs", "fs1", "--nfs-mount-path", "nfs", "--afs-name", "share",
                 "--custom-image", "/img", "-u", "admin", "-k", "ssh-rsa AAAA", "--password", "pw"}),
            0) << err;
  for (const char* flag : {"--subnet", "--use-auto-storage", "--nfs", "--nfs-mount-path", "--afs-name",
                           "--custom-image", "--user-name", "--ssh-key", "--password"}) {
    EXPECT_NE(err.find(std::string(flag) + " is accepted; on Slurm "), std::string::npos) << flag << "\n" << err;
  }
  EXPECT_EQ(err.find("pw"), std::string::npos) << err;
  EXPECT_EQ(json::parse(out.str()).at("partition"), "batch");
  ASSERT_EQ(run({"cluster", "create", "-n", "quiet", "-s", "STANDARD_D4_v3", "-t", "1", "--no-wait"}), 0) << err;
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(shown("quiet").at("name"), "quiet");
}

TEST_F(ClusterSetup, AConfigFileGivesTheClusterAndFlagsOverrideIt) {
  const std::string file = (dir / "cluster.json").string();
  std::ofstream(file) << R"({"properties": {"vmSize": "STANDARD_D4_v3",
      "scaleSettings": {"autoScale": {"minimumNodeCount": 0, "maximumNodeCount": 3}},
      "nodeSetup": {"setupTask": {"commandLine": "echo $GREETING", "stdOutErrPathPrefix": "/shared/setup",
                                  "environmentVariables": [{"name": "GREETING", "value": "hello"}]}},
      "userAccountSettings": {"adminUserName": "demo", "adminUserPassword": "pw"},
      "subnet": {"id": "/x/subnets/s"}}})";
  ASSERT_EQ(run({"cluster", "create", "-n", "auto", "-f", file}), 0) << err;
  auto c = shown("auto");
  EXPECT_EQ(c.at("vmSize"), "STANDARD_D4_v3");
  EXPECT_EQ(c.at("scaleSettings").at("autoScale").at("maximumNodeCount"), 3);
  const auto& task = c.at("nodeSetup").at("setupTask");
  EXPECT_EQ(task.at("stdOutErrPathPrefix"), "/shared/setup");
  EXPECT_EQ(task.at("environmentVariables"), json::parse(R"([{"name": "GREETING", "value": "hello"}])"));
  const std::string script = script_of("j", "auto");
  EXPECT_NE(script.find("batchai_setup_env=('GREETING=hello')"), std::string::npos) << script;
  // Flags win over the file's values.
  ASSERT_EQ(run({"cluster", "create", "-n", "manual", "-f", file, "-t", "2", "--setup-task", "echo flag",
                 "--setup-task-output", "/other"}), 0) << err;
  EXPECT_NE(err.find(file + ": properties.subnet is accepted; on Slurm"), std::string::npos) << err;
  EXPECT_NE(err.find(file + ": properties.userAccountSettings is accepted; on Slurm"), std::string::npos) << err;
  EXPECT_EQ(err.find("pw"), std::string::npos) << err;
  auto m = shown("manual");
  EXPECT_EQ(m.at("scaleSettings").at("manual").at("targetNodeCount"), 2);
  EXPECT_EQ(m.at("nodeSetup").at("setupTask").at("commandLine"), "echo flag");
  EXPECT_EQ(m.at("nodeSetup").at("setupTask").at("stdOutErrPathPrefix"), "/other");
  // A bad file: one line per problem at its JSON path, and nothing written.
  std::ofstream(file) << R"({"properties": {"vmSize": "STANDARD_D4_v3", "vmPriority": "spot",
      "scaleSettings": {"manual": {"targetNodeCount": 1}}}})";
  EXPECT_EQ(run({"cluster", "create", "-n", "bad", "-f", file}), 1);
  EXPECT_EQ(err, "batchai: error: " + file + ": properties.vmPriority: expected \"dedicated\" or \"lowpriority\", "
                 "got \"spot\"\n");
  EXPECT_EQ(run({"cluster", "show", "-n", "bad"}), 1);
  EXPECT_FALSE(fs::exists(dir / "jobs/rg/workspaces/ws/clusters/bad"));
  std::ofstream(file) << R"({"properties": {"scaleSettings": {"manual": {"targetNodeCount": 1}}}})";
  EXPECT_EQ(run({"cluster", "create", "-n", "bad", "-f", file}), 1);
  EXPECT_EQ(err, "batchai: error: --vm-size: required (or properties.vmSize in the --config-file)\n");
}

}  // namespace
}  // namespace batchai::frontend
