// batchai-prolog's node setup: node-plan.json as written and read, and the
// job's directories and volume links on a node, including the plans a user
// could edit into their job directory to escape the mount root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "slurm/node_plan.h"
#include "slurm/prolog/container.h"
#include "slurm/prolog/mounts.h"
#include "slurm/prolog/setup.h"
#include "unit/temp_dir.h"

namespace batchai::prolog {
namespace {

namespace fs = std::filesystem;
using slurm::NodePlan;
using slurm::NodeVolume;

// A plan of plain volumes: relative path and source.
NodePlan links(std::initializer_list<std::pair<std::string, std::string>> volumes) {
  NodePlan plan;
  for (const auto& [relative, source] : volumes) plan.volumes.push_back({relative, source, std::nullopt, ""});
  return plan;
}

TEST(NodePlan, RoundTripsAndRefusesWhatEscapes) {
  NodePlan plan = links({{"myshare", "/lustre/share"}, {"logs/run", "/nfs/logs"}});
  auto back = slurm::parse_node_plan(slurm::node_plan_json(plan), "node-plan.json");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->volumes.size(), 2u);
  EXPECT_EQ(back->volumes[1].relative_path, "logs/run");
  EXPECT_EQ(back->volumes[1].source, "/nfs/logs");

  auto error = [](std::string_view text) {
    auto p = slurm::parse_node_plan(text, "p.json");
    return p ? std::string("accepted") : p.error().message;
  };
  EXPECT_EQ(error(R"({"version": 2, "volumes": []})"),
            "p.json: $.version: expected 1 (written by another batchai version?)");
  EXPECT_EQ(error(R"({"version": 1, "volumes": [{"relativeMountPath": "../../etc", "source": "/x"}]})"),
            "p.json: $.volumes[0].relativeMountPath: \"../../etc\" escapes the job's mount root");
  EXPECT_EQ(error(R"({"version": 1, "volumes": [{"relativeMountPath": "a", "source": "x"}]})"),
            "p.json: $.volumes[0].source: expected an absolute path, got \"x\"");
  EXPECT_EQ(error("{"), "p.json: not JSON: incomplete JSON");
  EXPECT_EQ(error(R"({"version": 1, "volumes": [{"relativeMountPath": "a", "source": "/x", "refused": "no"}]})"),
            "p.json: $.volumes[0]: expected {\"relativeMountPath\": string, and \"source\" or \"refused\": string}");
  EXPECT_EQ(error(R"({"version": 1, "volumes": [{"relativeMountPath": "a", "source": "/x", "directoryMode": "999"}]})"),
            "p.json: $.volumes[0].directoryMode: expected an octal mode such as \"0755\"");
}

// The Prolog records each mount under the path it was given and the
// Epilog finds it there: "in/data/./" and "in/data" must be one spelling,
// or the Epilog looks for a mount point named "" and leaves the mount
// (prolog_fuzz's first finding, fuzz/prolog_seeds/).
TEST(NodePlan, GivesEveryRelativePathOneSpelling) {
  EXPECT_EQ(slurm::normal_relative("in/data/./"), "in/data");
  EXPECT_EQ(slurm::normal_relative("./in//data"), "in/data");
  EXPECT_EQ(slurm::normal_relative("afs"), "afs");
  EXPECT_FALSE(slurm::normal_relative("."));
  EXPECT_FALSE(slurm::normal_relative("./"));
  EXPECT_FALSE(slurm::normal_relative("a/../.."));
  EXPECT_FALSE(slurm::normal_relative("/abs"));
  EXPECT_FALSE(slurm::normal_relative(""));

  auto plan = slurm::parse_node_plan(R"({"version": 1, "volumes": [{"relativeMountPath": "in/data/./", "source": "/x"}]})",
                                     "p.json");
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->volumes.at(0).relative_path, "in/data");
  auto root = slurm::parse_node_plan(R"({"version": 1, "volumes": [{"relativeMountPath": "./", "source": "/x"}]})",
                                     "p.json");
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().message, "p.json: $.volumes[0].relativeMountPath: \"./\" names the job's mount root itself");
}

TEST(NodePlan, CarriesRefusalsAndDirectoryModes) {
  NodePlan plan;
  plan.volumes.push_back({"a/b", "/lustre/a", 0750u, ""});
  plan.volumes.push_back({"g", "", std::nullopt, "not in the allowlist"});
  auto back = slurm::parse_node_plan(slurm::node_plan_json(plan), "node-plan.json");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->volumes.size(), 2u);
  EXPECT_EQ(back->volumes[0].directory_mode, 0750u);
  EXPECT_EQ(back->volumes[1].source, "");
  EXPECT_EQ(back->volumes[1].refused, "not in the allowlist");
  EXPECT_FALSE(back->volumes[1].directory_mode);
}

TEST(NodePlan, ModesAreOctalAsBatchAIWroteThem) {
  EXPECT_EQ(slurm::parse_mode("0777"), 0777u);
  EXPECT_EQ(slurm::parse_mode("750"), 0750u);
  EXPECT_FALSE(slurm::parse_mode("1777"));  // no sticky, setuid or setgid bits
  EXPECT_FALSE(slurm::parse_mode("0778"));
  EXPECT_FALSE(slurm::parse_mode("77"));
  EXPECT_FALSE(slurm::parse_mode(""));
  EXPECT_EQ(slurm::mode_text(0750), "0750");
  EXPECT_EQ(slurm::mode_text(05), "0005");
}

class NodeSetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = batchai::testing::make_test_dir("batchai-prolog");
    ASSERT_FALSE(dir.empty());
    fs::create_directories(dir / "share");
    std::ofstream(dir / "share" / "data.txt") << "shared\n";
    setup.node = "node1";
    setup.mount_root = (dir / "job" / "mounts").string();
    setup.directories = {(dir / "scratch" / "batchai-job-7").string(), (dir / "job" / "shared").string()};
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }

  std::optional<NodeError> run(const NodePlan& plan) {
    return set_up_node(plan, setup, [&](const std::string& line) { log.push_back(line); });
  }

  fs::path dir;
  NodeSetup setup;
  std::vector<std::string> log;
};

TEST_F(NodeSetupTest, MakesTheDirectoriesAndLinksEachVolume) {
  NodePlan plan = links({{"myshare", (dir / "share").string()}, {"deep/er/logs", (dir / "share").string()}});
  ASSERT_FALSE(run(plan));
  for (const auto& d : setup.directories) EXPECT_TRUE(fs::is_directory(d)) << d;
  EXPECT_EQ(fs::read_symlink(dir / "job/mounts/myshare"), dir / "share");
  std::ifstream through(dir / "job/mounts/deep/er/logs/data.txt");
  std::string line;
  std::getline(through, line);
  EXPECT_EQ(line, "shared");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1], "volume deep/er/logs -> " + (dir / "share").string());
  EXPECT_EQ(log[2], "directories ready");

  // The next node of the job, on the same shared job directory.
  setup.node = "node2";
  log.clear();
  ASSERT_FALSE(run(plan));
  EXPECT_EQ(log[1], "volume deep/er/logs -> " + (dir / "share").string() + " (already linked)");
}

TEST_F(NodeSetupTest, DirectoriesInsideAVolumeAreMadeThroughItsLink) {
  // stdOutErrPathPrefix "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs", as the recipes do.
  setup.directories.push_back(setup.mount_root + "/logs/job/stdouterr");
  ASSERT_FALSE(run(links({{"logs", (dir / "share").string()}})));
  EXPECT_TRUE(fs::is_symlink(dir / "job/mounts/logs"));
  EXPECT_TRUE(fs::is_directory(dir / "share/job/stdouterr"));
}

TEST_F(NodeSetupTest, AMissingSourceIsAMountErrorNamingIt) {
  auto e = run(links({{"myshare", (dir / "nowhere").string()}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "MountError");
  EXPECT_EQ(e->message, "volume 'myshare' on node1: its source " + (dir / "nowhere").string() +
                            " cannot be reached on this node (No such file or directory); the share map in the "
                            "site's site.json names it");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "job/mounts/myshare")));
}

TEST_F(NodeSetupTest, DirectoriesOnTheWayToAVolumeTakeItsDirectoryMode) {
  NodePlan plan = links({{"deep/er/data", (dir / "share").string()}});
  plan.volumes[0].directory_mode = 0770;
  const mode_t old = ::umask(077);  // the mode is the job's, not the user's umask
  auto e = run(plan);
  ::umask(old);
  ASSERT_FALSE(e) << e->message;
  EXPECT_EQ(fs::status(dir / "job/mounts/deep").permissions(), fs::perms(0770));
  EXPECT_EQ(fs::status(dir / "job/mounts/deep/er").permissions(), fs::perms(0770));
  // The share itself keeps the site's modes.
  EXPECT_EQ(fs::status(dir / "share").permissions(), fs::status(dir).permissions());
}

TEST_F(NodeSetupTest, ARefusedVolumeIsAMountErrorSayingWhy) {
  NodePlan plan;
  plan.volumes.push_back({"g/v", "", std::nullopt, "the mountCommand \"mount x\" is not in this site's allowlist"});
  auto e = run(plan);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "MountError");
  EXPECT_EQ(e->message, "volume 'g/v' on node1: the mountCommand \"mount x\" is not in this site's allowlist");
  EXPECT_FALSE(fs::exists(dir / "job/mounts/g"));
}

TEST_F(NodeSetupTest, OnlyNodesWhoseContainerLeftNoMarkAreContainerStartFailed) {
  fs::create_directories(dir / "job/containers");
  fs::create_directories(dir / "logs");
  std::ofstream(dir / "job/containers/node1").close();
  NodeStep step{(dir / "job").string(), (dir / "logs").string(), "docker://x:1", {"node1", "node2"}, "T"};
  EXPECT_EQ(record_container_failures(step), std::vector<std::string>{"node2"});
  EXPECT_FALSE(fs::exists(dir / "job/errors/node1.json"));
  std::ifstream in(dir / "job/errors/node2.json");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            R"({"code":"ContainerStartFailed","message":"the job's container (image docker://x:1) did not start on )"
            R"(node2; see stderr-container-node2.txt","details":[{"name":"node","value":"node2"},)"
            R"({"name":"image","value":"docker://x:1"},{"name":"stderr","value":"stderr-container-node2.txt"}]})");
  std::ifstream log(dir / "logs/execution-node2.log");
  std::getline(log, line);
  EXPECT_EQ(line.substr(0, 46), "T batchai-prolog: ContainerStartFailed: the jo");

  // A node that recorded its own failure (jobPreparation) explains the
  // step's; the others were killed by Slurm, not by their containers.
  fs::remove_all(dir / "job/errors");
  fs::create_directories(dir / "job/errors");
  std::ofstream(dir / "job/errors/node1.json") << "{}";
  fs::remove(dir / "job/containers/node1");
  EXPECT_TRUE(record_container_failures(step).empty());
}

TEST_F(NodeSetupTest, NodesWhoseJobPreparationFailedAreJobPreparationFailed) {
  fs::create_directories(dir / "job/preparation");
  std::ofstream(dir / "job/preparation/node1") << "0\n";
  std::ofstream(dir / "job/preparation/node2") << "3\n";
  NodeStep step{(dir / "job").string(), (dir / "logs").string(), "", {"node1", "node2", "node3"}, "T"};
  EXPECT_EQ(record_preparation_failures(step), std::vector<std::string>{"node2"});
  EXPECT_FALSE(fs::exists(dir / "job/errors/node1.json"));
  EXPECT_FALSE(fs::exists(dir / "job/errors/node3.json"));  // never got there: not its failure
  std::ifstream in(dir / "job/errors/node2.json");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, R"({"code":"JobPreparationFailed","message":"jobPreparation exited with code 3 on node2",)"
                  R"("details":[{"name":"node","value":"node2"},{"name":"stderr","value":"stderr-job_prep-node2.txt"}]})");
}

TEST_F(NodeSetupTest, EditedPlansCannotLeaveTheMountRoot) {
  // A path with "..", as a user could write into node-plan.json.
  auto e = run(links({{"../../etc", (dir / "share").string()}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "volume '../../etc' on node1: the path escapes $AZ_BATCHAI_JOB_MOUNT_ROOT");

  // A link planted in the mount root, in place of a directory.
  fs::create_directories(dir / "outside");
  fs::create_directory_symlink(dir / "outside", dir / "job/mounts/planted");
  e = run(links({{"planted/x", (dir / "share").string()}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "MountError");
  EXPECT_EQ(e->message,
            "volume 'planted/x' on node1: 'planted' is a symbolic link or a file, not a directory below the mount root");
  EXPECT_TRUE(fs::is_empty(dir / "outside"));

  // Something else already at the volume's path.
  fs::create_directory_symlink(dir / "outside", dir / "job/mounts/taken");
  e = run(links({{"taken", (dir / "share").string()}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "volume 'taken' on node1: 'taken' already exists and is not a link to " +
                            (dir / "share").string());
}

}  // namespace
}  // namespace batchai::prolog

// Prolog mode's checks, before anything is mounted: what a user can put in
// a submission or their job directory must not make root mount elsewhere.
namespace batchai::prolog {
namespace {

class PrologChecks : public NodeSetupTest {
 protected:
  void SetUp() override {
    NodeSetupTest::SetUp();
    site.jobs_root = (dir / "jobs").string();
    site.shares = {{site::Share::Kind::azure_file_share, "myshare", (dir / "share").string()}};
    fs::create_directories(dir / "jobs/u/job1");
    job.uid = ::getuid();
    job.gid = ::getgid();
    job.node = "node1";
    job.job_id = "42";
    job.state_root = (dir / "run").string();
    job.job_dir = (dir / "jobs/u/job1").string();
  }
  std::string refused(const slurm::NodePlan& plan) {
    job.plan = plan;
    auto e = mount_volumes(job, site, [](const std::string&) {});
    return e ? e->code + ": " + e->message : "mounted";
  }
  site::SiteConfig site;
  PrologJob job;
};

TEST_F(PrologChecks, OnlyTheSitesSharesAreMounted) {
  fs::create_directories(dir / "secret");
  EXPECT_EQ(refused(links({{"data", (dir / "secret").string()}})),
            "MountError: volume 'data' on node1: its source " + (dir / "secret").string() +
                " is not one of the site's shares");
  EXPECT_EQ(refused(links({{"data", (dir / "share/../secret").string()}})),
            "MountError: volume 'data' on node1: its source " + (dir / "share/../secret").string() +
                " is not one of the site's shares");
  EXPECT_EQ(refused(links({{"../../etc", (dir / "share").string()}})),
            "MountError: volume '../../etc' on node1: the path escapes $AZ_BATCHAI_JOB_MOUNT_ROOT");
}

TEST_F(PrologChecks, TheJobDirectoryMustBeTheUsersInsideJobsRoot) {
  job.job_dir = (dir / "elsewhere").string();
  EXPECT_EQ(refused(NodePlan{}), "MountError: on node1: the job directory " + job.job_dir +
                                     " is not in the site's jobsRoot " + (dir / "jobs").string());
  job.job_dir = (dir / "jobs/u/job1").string();
  job.uid = ::getuid() + 1;
  EXPECT_EQ(refused(NodePlan{}), "MountError: on node1: the job directory " + job.job_dir +
                                     " does not belong to the job's user");
  // A link in place of the job directory's parent.
  job.uid = ::getuid();
  fs::create_directory_symlink(dir / "secret-jobs", dir / "jobs/linked");
  fs::create_directories(dir / "secret-jobs/job2");
  job.job_dir = (dir / "jobs/linked/job2").string();
  EXPECT_EQ(refused(NodePlan{}), "MountError: on node1: cannot open the job directory " + job.job_dir +
                                     ": 'linked' is a symbolic link or a file");
}

TEST_F(PrologChecks, ALinkPlantedInTheMountRootIsNotFollowed) {
  fs::create_directories(dir / "jobs/u/job1/mounts");
  fs::create_directories(dir / "target");
  fs::create_directory_symlink(dir / "target", dir / "jobs/u/job1/mounts/data");
  EXPECT_EQ(refused(links({{"data/in", (dir / "share").string()}})),
            "MountError: volume 'data/in' on node1: 'data' is a symbolic link or a file");
  EXPECT_TRUE(fs::is_empty(dir / "target"));
}

}  // namespace
}  // namespace batchai::prolog
