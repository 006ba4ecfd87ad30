// libFuzzer target: Prolog mode's checks, on what a job's user controls
// (SPANK_BATCHAI_VOLUMES and SPANK_BATCHAI_JOB_DIR), against a real
// directory tree but a fake mount layer, so it runs without root: parse the
// volumes, walk the job directory, the shares and the mount points by
// descriptor, "mount" through FakeMountOps, then run the Epilog.
//
// Input: the job directory on the first line (relative: below the
// fixture's jobsRoot), the volumes' JSON after it; "$T" anywhere stands for
// the fixture's root, so sources can name its shares.
//
// The fixture (made once, in a temporary directory):
//   $T/shares/a/{sub/deep, file}, $T/shares/a/link -> /etc,
//   $T/shares/a/up -> .., $T/shares/b, $T/jobs/u/job1 and $T/jobs/u/other
//   (the user's), $T/run (the record's root);
//   site shares: a, b, and "all" = $T itself (which holds jobsRoot).
//
// Beyond crashes and sanitizer reports, it aborts when:
//   - something is mounted from outside a share, through a link, or from
//     the job directory or a directory above it;
//   - something is mounted anywhere but below the job directory's mounts/,
//     or without being made private, nosuid and nodev first;
//   - a MountError is not one line naming the volume or the node;
//   - the Epilog leaves a mount, or a record, behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "io/site_config.h"
#include "slurm/node_plan.h"
#include "slurm/prolog/mount_ops_fake.h"
#include "slurm/prolog/mounts.h"

namespace {

using namespace batchai;
namespace fs = std::filesystem;

[[noreturn]] void fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "\nprolog_fuzz: invariant violated: %.*s\n---\n%.*s\n---\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(std::min<std::size_t>(detail.size(), 4000)), detail.data());
  std::abort();
}

void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

bool below_or_at(const std::string& path, const std::string& root) {
  return path == root || path.starts_with(root + "/");
}

struct Fixture {
  std::string root;
  site::SiteConfig site;

  Fixture() {
    char tmpl[] = "/tmp/prolog_fuzz.XXXXXX";
    if (!::mkdtemp(tmpl)) fail("mkdtemp");
    root = tmpl;
    for (const char* d : {"shares/a/sub/deep", "shares/b", "run"}) fs::create_directories(root + "/" + d);
    reset_jobs();
    ::close(::open((root + "/shares/a/file").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    fs::create_directory_symlink("/etc", root + "/shares/a/link");
    fs::create_directory_symlink("..", root + "/shares/a/up");
    site.jobs_root = root + "/jobs";
    site.storage_root = root + "/storage-missing";
    using K = site::Share::Kind;
    site.shares = {{K::azure_file_share, "a", root + "/shares/a"},
                   {K::azure_file_share, "b", root + "/shares/b"},
                   {K::file_server, "all", root}};
  }
  // jobsRoot as each input finds it: two job directories of the user's.
  void reset_jobs() const {
    std::error_code ec;
    fs::remove_all(root + "/jobs", ec);
    fs::create_directories(root + "/jobs/u/job1");
    fs::create_directories(root + "/jobs/u/other");
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

std::string replace_all(std::string text, std::string_view from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  const std::string text = replace_all(std::string(reinterpret_cast<const char*>(data), size), "$T", f.root);
  const std::size_t newline = text.find('\n');
  if (newline == std::string::npos) return 0;
  std::string job_dir = text.substr(0, newline);
  if (job_dir.find('\0') != std::string::npos) return 0;  // the environment cannot carry one
  if (job_dir.empty() || job_dir.front() != '/') job_dir = f.site.jobs_root + "/" + job_dir;
  auto plan = slurm::parse_node_plan(std::string_view(text).substr(newline + 1), "SPANK_BATCHAI_VOLUMES");
  if (!plan) return 0;

  prolog::PrologJob job;
  job.uid = ::getuid();
  job.gid = ::getgid();
  job.groups = {::getgid()};
  job.node = "node1";
  job.job_id = "7";
  job.job_dir = job_dir;
  job.plan = std::move(*plan);
  job.state_root = f.root + "/run";
  // Whichever directory of the user's below jobsRoot the input names, its
  // mounts/ is the only place a mount may go.
  std::error_code ec;
  const std::string job_real = fs::weakly_canonical(job_dir, ec).string();
  const std::string mounts = job_real + "/mounts";

  prolog::FakeMountOps ops;
  const auto error = prolog::mount_volumes(job, f.site, [](const std::string&) {}, ops);
  if (error) {
    check(error->code == "MountError", "an error that is not a MountError", error->code);
    check(error->message.find('\n') == std::string::npos, "a MountError of more than one line", error->message);
    check(error->message.starts_with("volume '") || error->message.starts_with("on node1: "),
          "a MountError that names neither the volume nor the node", error->message);
  }
  for (const auto& [key, m] : ops.mounted) {
    check(m.restricted, "a mount attached before it was made private, nosuid and nodev", m.point);
    check(m.point.starts_with(mounts + "/"), "a mount outside the job's mount root", m.point);
    check(below_or_at(m.source, f.root), "a mount of something outside the shares", m.source);
    check(!below_or_at(job_real, m.source), "a mount of the job directory or a directory above it", m.source);
  }
  const std::size_t mounted = ops.mounted.size();
  const int unmounted = prolog::unmount_volumes(job, f.site, [](const std::string&) {}, ops);
  check(static_cast<std::size_t>(unmounted) == mounted && ops.mounted.empty(), "the Epilog left a mount",
        std::to_string(mounted) + " mounted, " + std::to_string(unmounted) + " unmounted");
  check(!fs::exists(job.state_root + "/7"), "the Epilog left the record");

  // The next input starts from the same tree.
  f.reset_jobs();
  return 0;
}
