// Prolog mode's defences that do not need a mount: the limits on what a job
// may hand root, the log sanitizer, work done as the job's user in a child
// (really dropped when the tests run as root), the watchdog, and files made
// where the user could have left a FIFO or a hard link.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "slurm/prolog/as_user.h"
#include "slurm/prolog/error_record.h"
#include "slurm/prolog/limits.h"
#include "slurm/prolog/mounts.h"
#include "slurm/prolog/node_scratch.h"
#include "slurm/prolog/safe_file.h"
#include "slurm/prolog/setup.h"
#include "unit/temp_dir.h"

namespace batchai::prolog {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string contents(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(PrologLimits, LoggedTextHoldsNoControlCharacterAndIsCut) {
  EXPECT_EQ(log_safe("plain /path"), "plain /path");
  EXPECT_EQ(log_safe("a\nslurmd: forged"), "a\\nslurmd: forged");
  EXPECT_EQ(log_safe("\x1b[31mred\t\x7f\r"), "\\x1b[31mred\\t\\x7f\\x0d");
  EXPECT_EQ(log_safe("caf\xc3\xa9"), "caf\\xc3\\xa9");
  EXPECT_EQ(log_safe(std::string(2000, 'x'), 10), "xxxxxxxxxx... (1990 more bytes)");
}

TEST(PrologLimits, TheJobsIdsAreNumbersAndNeverRoot) {
  EXPECT_EQ(job_id_number("SLURM_JOB_UID", nullptr).error().message,
            "SLURM_JOB_UID is not set; Slurm sets it for every job");
  EXPECT_EQ(job_id_number("SLURM_JOB_UID", "").error().message,
            "SLURM_JOB_UID is not set; Slurm sets it for every job");
  EXPECT_EQ(job_id_number("SLURM_JOB_UID", "0").error().message,
            "SLURM_JOB_UID is 0: a job of root's is not prepared by batchai-prolog");
  EXPECT_EQ(job_id_number("SLURM_JOB_UID", "000").error().message,
            "SLURM_JOB_UID is 0: a job of root's is not prepared by batchai-prolog");
  EXPECT_EQ(job_id_number("SLURM_JOB_GID", "12a\n").error().message, "SLURM_JOB_GID: expected a number, got '12a\\n'");
  EXPECT_EQ(job_id_number("SLURM_JOB_UID", "-1").error().message, "SLURM_JOB_UID: expected a number, got '-1'");
  EXPECT_EQ(job_id_number("SLURM_JOB_UID", "4294967295").error().message,
            "SLURM_JOB_UID: expected a number, got '4294967295'");
  EXPECT_EQ(*job_id_number("SLURM_JOB_UID", "1000"), 1000u);
}

TEST(PrologLimits, SpankValuesNodeNamesAndTheJobDirectory) {
  EXPECT_TRUE(check_spank_value("SPANK_BATCHAI_VOLUMES", std::string(kMaxSpankValue, 'x')));
  EXPECT_EQ(check_spank_value("SPANK_BATCHAI_VOLUMES", std::string(kMaxSpankValue + 1, 'x')).error().message,
            "SPANK_BATCHAI_VOLUMES is 65537 bytes long; at most 65536 are accepted");
  EXPECT_TRUE(check_job_dir("/jobs/u/job1"));
  EXPECT_EQ(check_job_dir("/jobs/u\nslurmd: fake").error().message,
            "SPANK_BATCHAI_JOB_DIR '/jobs/u\\nslurmd: fake' holds a control character");
  EXPECT_EQ(check_job_dir("jobs/u").error().message, "SPANK_BATCHAI_JOB_DIR 'jobs/u' is not an absolute path");
  EXPECT_EQ(check_job_dir("/" + std::string(5000, 'a')).error().message,
            "SPANK_BATCHAI_JOB_DIR is 5001 bytes long; at most 4095 are accepted");
  EXPECT_TRUE(check_node_name("node1"));
  EXPECT_EQ(check_node_name("../x").error().message, "SLURMD_NODENAME: '../x' is not a node name");
  EXPECT_FALSE(check_node_name(""));
  EXPECT_FALSE(check_node_name(".."));
}

TEST(PrologLimits, VolumesPastALimitAreTheJobsMountErrorNamingThem) {
  PrologJob job;
  job.node = "node1";
  job.job_dir = "/jobs/u/job1";
  auto volume = [](std::string relative) { return slurm::NodeVolume{std::move(relative), "/share", std::nullopt, ""}; };
  auto error = [&] {
    auto e = check_volumes(job);
    return e ? e->code + ": " + e->message : "accepted";
  };
  for (std::size_t i = 0; i < kMaxVolumes; ++i) job.plan.volumes.push_back(volume("v" + std::to_string(i)));
  EXPECT_EQ(error(), "accepted");
  job.plan.volumes.push_back(volume("one-more"));
  EXPECT_EQ(error(), "MountError: on node1: the job has 65 volumes; at most 64 are accepted");

  std::string deep;
  for (int i = 0; i < 33; ++i) deep += "d/";
  job.plan.volumes = {volume("ok"), volume(deep)};
  EXPECT_EQ(error(), "MountError: volume '" + deep + "' on node1: the path has 33 components; at most 32 are accepted");
  job.plan.volumes = {volume("a/" + std::string(256, 'n'))};
  EXPECT_EQ(error().substr(0, 30), "MountError: volume 'a/nnnnnnnn");
  EXPECT_NE(error().find("' on node1: a component of the path is 256 bytes long; at most 255 are accepted"),
            std::string::npos);
  // Attack 7: a mount path the Epilog could not name again.
  std::string long_path;
  for (int i = 0; i < 30; ++i) long_path += std::string(200, 'l') + "/";
  job.plan.volumes = {volume(long_path)};
  EXPECT_NE(error().find("the mount path would be 6050 bytes long; at most 4095 are accepted"), std::string::npos);
  job.plan.volumes = {volume("a\x1b[2Jb")};
  EXPECT_EQ(error(), "MountError: volume 'a\\x1b[2Jb' on node1: the path holds a control character");
}

// The user a root test run drops to; a run that is not root acts as itself.
User test_user() {
  if (::geteuid() == 0) return User{65534, 65534};
  return User{::getuid(), ::getgid()};
}

TEST(AsUser, TheWorksResultAndDescriptorComeBack) {
  auto text = as_user(User{::getuid(), ::getgid()}, 5s, []() -> Result<std::string> { return std::string("hi"); });
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "hi");
  auto error = as_user(User{::getuid(), ::getgid()}, 5s, []() -> Status { return Error{"no such thing"}; });
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error().message, "no such thing");
  auto fd = as_user(User{::getuid(), ::getgid()}, 5s,
                    []() -> Result<Fd> { return Fd(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); });
  ASSERT_TRUE(fd) << fd.error().message;
  struct stat st {}, root {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  ASSERT_EQ(::stat("/", &root), 0);
  EXPECT_EQ(st.st_ino, root.st_ino);
}

TEST(AsUser, RootReallyDropsToTheUserAndCannotComeBack) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root: nothing to drop";
  auto seen = as_user(User{65534, 65534}, 5s, []() -> Result<std::string> {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    ::getresuid(&r, &e, &s);
    ::getresgid(&gr, &ge, &gs);
    std::vector<gid_t> groups(::getgroups(0, nullptr));
    groups.resize(::getgroups(static_cast<int>(groups.size()), groups.data()));
    std::string out = std::to_string(r) + " " + std::to_string(e) + " " + std::to_string(s) + " " +
                      std::to_string(gr) + " " + std::to_string(ge) + " " + std::to_string(gs);
    for (gid_t g : groups) {
      if (g == 0) out += " root-group";
    }
    if (::setuid(0) == 0 || ::seteuid(0) == 0) out += " regained-root";
    if (::open("/etc/shadow", O_RDONLY | O_CLOEXEC) >= 0) out += " read-shadow";
    return out;
  });
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_EQ(*seen, "65534 65534 65534 65534 65534 65534");
  EXPECT_EQ(::geteuid(), 0u);  // the parent is still root
}

TEST(AsUser, OnlyRootActsAsAnotherUser) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may act as anyone";
  auto r = as_user(User{::getuid() + 1, ::getgid()}, 5s, []() -> Status { return {}; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "cannot become uid " + std::to_string(::getuid() + 1) + ": cannot act as uid " +
                std::to_string(::getuid() + 1) + ": this process is not root");
}

TEST(Watchdog, WorkPastItsLimitIsKilledAndSaysSo) {
  const auto start = std::chrono::steady_clock::now();
  auto r = within(300ms, []() -> Status {
    std::this_thread::sleep_for(30s);
    return {};
  });
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "did not finish within 300 ms");
  EXPECT_LT(took, 3s);

  auto died = within(5s, []() -> Status {
    ::raise(SIGKILL);
    return {};
  });
  ASSERT_FALSE(died);
  EXPECT_EQ(died.error().message, "the child process was killed by signal 9");
}

// A process that is gone, or a zombie waiting for init.
bool ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST(Watchdog, WhatTheWorkStartedDiesWithIt) {
  const fs::path marker = fs::temp_directory_path() / ("batchai-watchdog-" + std::to_string(::getpid()));
  auto r = within(500ms, [&]() -> Status {
    return within(30s, [&]() -> Status {
      std::ofstream(marker) << ::getpid();
      std::this_thread::sleep_for(30s);
      return {};
    });
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "did not finish within 500 ms");
  pid_t grandchild = 0;
  std::ifstream(marker) >> grandchild;
  fs::remove(marker);
  ASSERT_GT(grandchild, 0);
  for (int i = 0; i < 100 && !ended(grandchild); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(ended(grandchild)) << "the inner child " << grandchild << " outlived the watchdog";
}

class SafeFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = batchai::testing::make_test_dir("batchai-as-user");
    ASSERT_FALSE(dir.empty());
    fs::permissions(dir, fs::perms(0755));
    at = Fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }
  // `work` under a watchdog, so a test that would hang fails instead.
  Status bounded(const std::function<Status()>& work) { return within(5s, work); }

  fs::path dir;
  Fd at;
};

TEST_F(SafeFiles, AFifoAtTheNameIsNeverOpened) {
  ASSERT_EQ(::mkfifo((dir / "node1.json").c_str(), 0644), 0);
  // The open alone: refused at once, where a plain O_CREAT would block.
  auto open_only = bounded([&]() -> Status {
    const int fd = ::openat(at.get(), "node1.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd >= 0) return Error{"opened"};
    return errno == EEXIST ? Status{} : Error{errno_text()};
  });
  EXPECT_TRUE(open_only) << open_only.error().message;
  auto written = bounded([&] { return write_new_file(at, "node1.json", "{}\n", 0644); });
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dir / "node1.json")));
  EXPECT_EQ(contents(dir / "node1.json"), "{}\n");
  EXPECT_EQ(fs::status(dir / "node1.json").permissions(), fs::perms(0644));
  EXPECT_FALSE(fs::exists(dir / ".node1.json.tmp"));
}

TEST_F(SafeFiles, AHardLinkAtTheNameLeavesItsTargetAlone) {
  std::ofstream(dir / "precious") << "root's\n";
  fs::create_hard_link(dir / "precious", dir / "node1.json");
  auto open_only = bounded([&]() -> Status {
    const int fd = ::openat(at.get(), "node1.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd >= 0) return Error{"opened"};
    return errno == EEXIST ? Status{} : Error{errno_text()};
  });
  EXPECT_TRUE(open_only) << open_only.error().message;
  auto made = create_new_file(at, "node1.json", 0600);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(fs::hard_link_count(dir / "node1.json"), 1u);
  EXPECT_EQ(contents(dir / "precious"), "root's\n");

  fs::remove(dir / "node1.json");
  fs::create_hard_link(dir / "precious", dir / "node1.json");
  ASSERT_TRUE(bounded([&] { return write_new_file(at, "node1.json", "{}\n", 0644); }));
  EXPECT_EQ(contents(dir / "precious"), "root's\n");
  EXPECT_EQ(fs::hard_link_count(dir / "precious"), 1u);
  EXPECT_EQ(contents(dir / "node1.json"), "{}\n");
}

TEST_F(SafeFiles, ALinkIsReplacedAndADirectoryRefused) {
  std::ofstream(dir / "precious") << "root's\n";
  fs::create_symlink(dir / "precious", dir / "node1.json");
  ASSERT_TRUE(bounded([&] { return write_new_file(at, "node1.json", "{}\n", 0644); }));
  EXPECT_EQ(contents(dir / "precious"), "root's\n");
  EXPECT_FALSE(fs::is_symlink(dir / "node1.json"));

  fs::create_directories(dir / "node2.json/x");
  auto r = write_new_file(at, "node2.json", "{}\n", 0644);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cannot replace 'node2.json': Is a directory");
  EXPECT_FALSE(fs::exists(dir / ".node2.json.tmp"));
}

TEST_F(SafeFiles, DirectoriesAreTheUsersWithTheirModeAndNeverInAnotherUsersDirectory) {
  const User user = test_user();
  ASSERT_EQ(::chown(dir.c_str(), user.uid, user.gid), 0);
  const mode_t old = ::umask(077);
  auto made = user_directories(at, {"mounts", "in", "data"}, user, 0750u);
  ::umask(old);
  ASSERT_TRUE(made) << made.error().message;
  for (const char* p : {"mounts", "mounts/in", "mounts/in/data"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir / p).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, user.uid) << p;
    EXPECT_EQ(st.st_gid, user.gid) << p;
    EXPECT_EQ(st.st_mode & 07777, 0750u) << p;
  }
  struct stat st {}, data {};
  ASSERT_EQ(::fstat(made->get(), &st), 0);
  ASSERT_EQ(::stat((dir / "mounts/in/data").c_str(), &data), 0);
  EXPECT_EQ(st.st_ino, data.st_ino);  // the descriptor is the directory made

  // Nothing is made inside another user's directory.
  const uid_t other = user.uid + 1;
  auto refused = walk_user_directories(at, {"fresh"}, other, std::nullopt);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "cannot create 'fresh' in a directory that is not the job user's");
  refused = walk_user_directories(at, {"mounts", "in"}, other, std::nullopt);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "'mounts' belongs to another user; nothing is made inside it");
  EXPECT_FALSE(fs::exists(dir / "fresh"));
  if (::geteuid() == 0) {
    // A share mounted at a volume's path is root's, and anyone may write
    // it: it may be the last directory (the volume, already mounted), but
    // a nested volume is not made inside it (attack 3).
    fs::create_directories(dir / "mounts/share");
    fs::permissions(dir / "mounts/share", fs::perms(0777));
    EXPECT_TRUE(user_directories(at, {"mounts", "share"}, user, std::nullopt));
    refused = user_directories(at, {"mounts", "share", "models"}, user, std::nullopt);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message, "'share' belongs to another user; nothing is made inside it");
    EXPECT_FALSE(fs::exists(dir / "mounts/share/models"));
  }

  // A link in place of a directory is not followed.
  fs::create_directories(dir / "elsewhere");
  fs::create_directory_symlink(dir / "elsewhere", dir / "mounts/link");
  refused = user_directories(at, {"mounts", "link", "x"}, user, std::nullopt);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "'link' is a symbolic link or a file");
  EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));
}

TEST_F(SafeFiles, ThePrologsErrorIsWrittenByTheUserPastAFifoAndAHardLink) {
  const User user = test_user();
  site::SiteConfig site;
  site.jobs_root = dir.string();
  fs::create_directories(dir / "u/job1/errors");
  for (const char* p : {"u", "u/job1", "u/job1/errors"}) ASSERT_EQ(::chown((dir / p).c_str(), user.uid, user.gid), 0);
  ASSERT_EQ(::mkfifo((dir / "u/job1/errors/node1.json").c_str(), 0644), 0);
  std::ofstream(dir / "precious") << "root's\n";
  fs::create_hard_link(dir / "precious", dir / "u/job1/errors/node2.json");
  PrologJob job;
  job.uid = user.uid;
  job.gid = user.gid;
  job.job_dir = (dir / "u/job1").string();
  for (const char* node : {"node1", "node2"}) {
    job.node = node;
    const auto start = std::chrono::steady_clock::now();
    auto r = record_prolog_error(job, site, {"MountError", "volume 'x' on " + job.node + ": gone"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    const fs::path file = dir / "u/job1/errors" / (job.node + ".json");
    struct stat st {};
    ASSERT_EQ(::lstat(file.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_nlink, 1u);
    EXPECT_EQ(st.st_uid, user.uid);
    EXPECT_EQ(contents(file), R"({"code":"MountError","message":"volume 'x' on )" + job.node +
                                  R"(: gone","details":[{"name":"node","value":")" + job.node +
                                  R"("},{"name":"step","value":"Prolog"}]})" + "\n");
  }
  EXPECT_EQ(contents(dir / "precious"), "root's\n");
}

TEST_F(SafeFiles, TheEpilogRemovesTheUsersScratchAsTheUser) {
  const User user = test_user();
  if (user.uid == 0) GTEST_SKIP() << "a root-owned scratch is never removed";
  site::SiteConfig site;
  site.node_temp_root = dir.string();
  fs::permissions(dir, fs::perms(01777));  // as /tmp is
  fs::create_directories(dir / "batchai-job-42/a/b");
  std::ofstream(dir / "batchai-job-42/a/b/f") << "x";
  for (const char* p : {"batchai-job-42", "batchai-job-42/a", "batchai-job-42/a/b", "batchai-job-42/a/b/f"}) {
    ASSERT_EQ(::chown((dir / p).c_str(), user.uid, user.gid), 0);
  }
  PrologJob job;
  job.uid = user.uid;
  job.gid = user.gid;
  std::vector<std::string> log;
  remove_node_scratch(job, site, "42", [&](const std::string& l) { log.push_back(l); }, 5s);
  EXPECT_FALSE(fs::exists(dir / "batchai-job-42"));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0], "removed " + (dir / "batchai-job-42").string());
}

}  // namespace
}  // namespace batchai::prolog
