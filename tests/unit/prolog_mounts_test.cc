// Prolog mode's mounts through the fake mount layer: what root would mount
// where, what it refuses, and that the Epilog unmounts what the Prolog
// recorded and nothing else. Real directories, no root: FakeMountOps
// records the calls.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "slurm/prolog/limits.h"
#include "slurm/prolog/mount_ops_fake.h"
#include "slurm/prolog/mounts.h"

namespace batchai::prolog {
namespace {

namespace fs = std::filesystem;

class PrologMounts : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/prolog_mounts_test.XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir = tmpl;
    fs::create_directories(dir / "share/sub");
    fs::create_directories(dir / "jobs/u/job1");
    site.jobs_root = (dir / "jobs").string();
    site.shares = {{site::Share::Kind::azure_file_share, "myshare", (dir / "share").string()},
                   {site::Share::Kind::file_server, "everything", dir.string()}};
    job.uid = ::getuid();
    job.gid = ::getgid();
    job.groups = {::getgid()};
    job.node = "node1";
    job.job_id = "42";
    job.state_root = (dir / "run").string();
    job.job_dir = (dir / "jobs/u/job1").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir / "share/sub", fs::perms::owner_all, ec);
    fs::remove_all(dir, ec);
  }
  std::string mount(std::initializer_list<std::pair<std::string, std::string>> volumes) {
    job.plan.volumes.clear();
    for (const auto& [relative, source] : volumes) job.plan.volumes.push_back({relative, source, std::nullopt, ""});
    auto e = mount_volumes(job, site, [](const std::string&) {}, ops);
    return e ? e->code + ": " + e->message : "mounted";
  }
  fs::path dir;
  site::SiteConfig site;
  PrologJob job;
  FakeMountOps ops;
};

TEST_F(PrologMounts, MountsPrivatelyOnTheMadePointAndTheEpilogUnmountsIt) {
  ASSERT_EQ(mount({{"in/data", (dir / "share/sub").string()}}), "mounted");
  ASSERT_EQ(ops.mounted.size(), 1u);
  const auto& m = ops.mounted.begin()->second;
  EXPECT_EQ(m.source, (dir / "share/sub").string());
  EXPECT_EQ(m.point, (dir / "jobs/u/job1/mounts/in/data").string());
  EXPECT_TRUE(m.restricted);
  // Recorded where only root (here: this test's user) writes.
  std::ifstream record(dir / "run/42/mounts");
  std::string header, line;
  std::getline(record, header);
  std::getline(record, line);
  EXPECT_EQ(header, "batchai-prolog mounts 1");
  EXPECT_TRUE(line.ends_with(" in/data")) << line;
  EXPECT_EQ(fs::status(dir / "run/42").permissions(), fs::perms::owner_all);

  EXPECT_EQ(unmount_volumes(job, site, [](const std::string&) {}, ops), 1);
  EXPECT_TRUE(ops.mounted.empty());
  EXPECT_FALSE(fs::exists(dir / "run/42"));
}

TEST_F(PrologMounts, TheEpilogLeavesAMountItDidNotMake) {
  ASSERT_EQ(mount({{"data", (dir / "share").string()}}), "mounted");
  // Another mount took the recorded place's identity: not the Prolog's.
  auto& m = ops.mounted.begin()->second;
  m.id += 1000;
  EXPECT_EQ(unmount_volumes(job, site, [](const std::string&) {}, ops), 0);
  EXPECT_EQ(ops.mounted.size(), 1u);
}

TEST_F(PrologMounts, RefusesASourceHoldingTheJobDirectory) {
  EXPECT_EQ(mount({{"x", (dir / "jobs").string()}}),
            "MountError: volume 'x' on node1: its source " + (dir / "jobs").string() + " holds the job directory");
  EXPECT_EQ(mount({{"x", dir.string()}}),
            "MountError: volume 'x' on node1: its source " + dir.string() + " holds the job directory");
  EXPECT_TRUE(ops.mounted.empty());
}

TEST_F(PrologMounts, RefusesASourceTheUserCannotSearch) {
  fs::create_directories(dir / "share/sub/pub");
  fs::permissions(dir / "share/sub", fs::perms::group_all | fs::perms::others_all);  // 0077: not the owner's
  EXPECT_EQ(mount({{"x", (dir / "share/sub/pub").string()}}),
            "MountError: volume 'x' on node1: its source " + (dir / "share/sub/pub").string() +
                " is out of the job's user's reach: they may not search " + (dir / "share/sub").string());
  EXPECT_TRUE(ops.mounted.empty());
}

TEST_F(PrologMounts, RefusesALinkInTheSourceALongPathAndTooManyVolumes) {
  fs::create_directory_symlink("/etc", dir / "share/etc");
  EXPECT_EQ(mount({{"x", (dir / "share/etc").string()}}),
            "MountError: volume 'x' on node1: its source " + (dir / "share/etc").string() +
                " cannot be used: 'etc' is a symbolic link or a file");
  std::string long_path = "a";
  for (char c = 'b'; c <= 'f'; ++c) long_path += "/" + std::string(200, c);
  long_path += "/" + std::string(100, 'g');  // 1,107 characters
  EXPECT_EQ(mount({{long_path, (dir / "share").string()}}),
            "MountError: volume '" + long_path + "' on node1: the path is longer than 1024 characters");
  job.plan.volumes.assign(kMaxVolumes + 1, {"x", (dir / "share").string(), std::nullopt, ""});
  auto e = mount_volumes(job, site, [](const std::string&) {}, ops);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "on node1: the job has 65 volumes; at most 64 are accepted");
  EXPECT_TRUE(ops.mounted.empty());
}

}  // namespace
}  // namespace batchai::prolog
