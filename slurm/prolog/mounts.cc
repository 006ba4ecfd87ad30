#include "slurm/prolog/mounts.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "slurm/prolog/as_user.h"
#include "slurm/prolog/fd.h"
#include "slurm/prolog/limits.h"

namespace batchai::prolog {
namespace {

// Every walk: beneath the descriptor it starts from, through no link.
constexpr std::uint64_t kBeneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
// And across no mount: a walk that met one would lead root into another
// filesystem than the one it checked (a share mounted in the job's tree).
constexpr std::uint64_t kSameMount = kBeneath | RESOLVE_NO_XDEV;
constexpr int kDir = O_PATH | O_DIRECTORY;

using Identity = std::pair<dev_t, ino_t>;

std::optional<std::string> real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return std::nullopt;
  return std::string(buf);
}

// `rel` below `root` when `path` is `root` or below it.
std::optional<std::string> below(const std::string& root, const std::string& path) {
  if (path == root) return std::string();
  if (path.size() > root.size() && path.starts_with(root) && (root == "/" || path[root.size()] == '/')) {
    return path.substr(root == "/" ? 1 : root.size() + 1);
  }
  return std::nullopt;
}

// Why an open of `part` failed, from errno.
std::string open_failure(const std::string& part) {
  switch (errno) {
    case ELOOP:
    case ENOTDIR:
      return "'" + part + "' is a symbolic link or a file";
    case EXDEV:
      return "'" + part + "' is on another mount, and no walk crosses one";
    case ENOENT:
      return "'" + part + "' does not exist";
    case ENOSYS:
      return "this kernel has no openat2 (Linux >= 5.6 is needed)";
    default:
      return "'" + part + "' cannot be opened: " + errno_text();
  }
}

Identity identity(const struct stat& st) { return {st.st_dev, st.st_ino}; }

// May uid, in groups, search (x) a directory with this stat? As the kernel
// decides from the mode: the owner's bits for the owner, the group's for a
// member, the others' for the rest. ACLs are not read, so an ACL that
// grants more than the mode is not honoured (the check refuses, never
// allows, more than the kernel would).
bool can_search(const struct stat& st, uid_t uid, const std::vector<gid_t>& groups) {
  if (st.st_uid == uid) return st.st_mode & S_IXUSR;
  if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end()) return st.st_mode & S_IXGRP;
  return st.st_mode & S_IXOTH;
}

// The groups the search-permission check counts: the job's own where it
// names them, else those a child of the user's would get (as_user.h).
std::vector<gid_t> job_groups(const PrologJob& job) {
  std::vector<gid_t> groups = job.groups.empty() ? user_groups(User{job.uid, job.gid}) : job.groups;
  groups.push_back(job.gid);
  return groups;
}

// An absolute, link-free path opened one component at a time from "/",
// collecting the identity of every directory on the way.
Result<Fd> open_from_root(const std::string& path, std::set<Identity>* chain) {
  Fd at(::open("/", kDir | O_CLOEXEC));
  for (const auto& part : components(path)) {
    Fd next = open_resolved(at.get(), part, kDir, kBeneath);
    if (!next.ok()) return Error{open_failure(part)};
    at = std::move(next);
    struct stat st {};
    if (chain && ::fstat(at.get(), &st) == 0) chain->insert(identity(st));
  }
  return at;
}

Result<Fd> open_job_dir(const PrologJob& job, const site::SiteConfig& site, std::set<Identity>* chain) {
  const auto root = real_path(site.jobs_root);
  if (!root) return Error{"the site's jobsRoot " + site.jobs_root + " cannot be reached: " + errno_text()};
  const auto rel = below(*root, job.job_dir);
  if (!rel || rel->empty() || !slurm::stays_below(*rel)) {
    return Error{"the job directory " + job.job_dir + " is not in the site's jobsRoot " + *root};
  }
  auto at = open_from_root(*root, chain);
  if (!at) return Error{"cannot open the site's jobsRoot " + *root + ": " + at.error().message};
  for (const auto& part : components(*rel)) {
    Fd next = open_resolved(at->get(), part, kDir, kBeneath);
    if (!next.ok()) return Error{"cannot open the job directory " + job.job_dir + ": " + open_failure(part)};
    *at = std::move(next);
    struct stat st {};
    if (chain && ::fstat(at->get(), &st) == 0) chain->insert(identity(st));
  }
  struct stat st {};
  if (::fstat(at->get(), &st) != 0 || st.st_uid != job.uid) {
    return Error{"the job directory " + job.job_dir + " does not belong to the job's user"};
  }
  return at;
}

// A directory of the user's below `at`: opened on the same mount, through
// no link, and made by the user when `make` and it is missing.
Result<Fd> user_dir(int at, const std::string& name, const PrologJob& job, MountOps& ops,
                    std::optional<unsigned> make) {
  Fd fd = open_resolved(at, name, kDir, kSameMount);
  if (!fd.ok() && errno == ENOENT && make) {
    auto made = ops.make_dir_as_user(at, name, *make, job.uid, job.gid);
    fd = open_resolved(at, name, kDir, kSameMount);
    if (!fd.ok() && !made) return made.error();
  }
  if (!fd.ok()) return Error{open_failure(name)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{"cannot inspect '" + name + "': " + errno_text()};
  if (st.st_uid != job.uid) return Error{"'" + name + "' belongs to another user"};
  return fd;
}

// ---- the source --------------------------------------------------------------

struct Source {
  Fd fd;
  struct stat st {};
};

// A share's directory as the site names it, and where it really is.
struct ShareRoot {
  std::string named;
  std::optional<std::string> real;
  bool storage = false;
};

std::string normal(const std::string& path) {
  std::string n = std::filesystem::path(path).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

// The directory a volume's source names: one of the site's shares, a
// directory below one (a file server's sourceDirectory), or a file share a
// user made with `batchai storage` (below the storageRoot of the site.json
// root reads, "~" being the job user's home). Opened from the share's
// directory by descriptor, on the share's own mount, through no link, and
// searched with the job's user's permissions all the way down: a bind mount
// skips the permissions of the directories above its source, so root must
// not mount what the user could not reach.
Result<Source> open_source(const std::string& source, const site::SiteConfig& site,
                           const std::vector<gid_t>& groups, uid_t uid) {
  std::vector<ShareRoot> roots;
  for (const auto& share : site.shares) roots.push_back({normal(share.path), real_path(share.path), false});
  // The storage root may lie in the user's home, where the user could make
  // it a link to anywhere; so it counts only where its real path is the
  // one site.json gives (an admin sets the real path where links lead to it).
  const std::string configured = normal(site.storage_root);
  if (const auto storage = real_path(site.storage_root); storage && *storage == configured) {
    roots.push_back({configured, storage, true});
  }
  // The deepest share that holds the source: a share mounted inside another
  // is a mount of its own, which a walk from the outer one may not enter.
  const ShareRoot* best = nullptr;
  std::string rel;
  std::size_t best_length = 0;
  for (const auto& r : roots) {
    for (const auto& name : {std::optional<std::string>(r.named), r.real}) {
      if (!name) continue;
      auto below_it = below(*name, source);
      if (!below_it || (r.storage && below_it->empty()) || (best && name->size() <= best_length)) continue;
      best = &r;
      best_length = name->size();
      rel = *below_it;
    }
  }
  if (!best || (!rel.empty() && !slurm::stays_below(rel))) {
    return Error{"its source " + source + " is not one of the site's shares"};
  }
  if (!best->real) {
    return Error{"its source " + source + " cannot be reached on this node: the share's directory " + best->named +
                 " is missing"};
  }
  Fd at = best->storage ? open_resolved(AT_FDCWD, *best->real, kDir, RESOLVE_NO_SYMLINKS)
                        : Fd(::open(best->real->c_str(), kDir | O_CLOEXEC));
  if (!at.ok()) return Error{"its source " + source + " cannot be reached on this node (" + errno_text() + ")"};
  std::string walked = *best->real;
  Source s;
  for (const auto& part : components(rel)) {
    if (::fstat(at.get(), &s.st) != 0 || !can_search(s.st, uid, groups)) {
      return Error{"its source " + source + " is out of the job's user's reach: they may not search " + walked};
    }
    Fd next = open_resolved(at.get(), part, kDir, kSameMount);
    if (!next.ok()) return Error{"its source " + source + " cannot be used: " + open_failure(part)};
    at = std::move(next);
    walked += "/" + part;
  }
  if (::fstat(at.get(), &s.st) != 0 || !S_ISDIR(s.st.st_mode) || !can_search(s.st, uid, groups)) {
    return Error{"its source " + source + " is out of the job's user's reach: they may not search " + walked};
  }
  s.fd = std::move(at);
  return s;
}

// ---- the record of what was mounted ------------------------------------------

// <state_root>/<job id>: root's alone, made if `create`. Its lock makes the
// Prologs (and Epilogs) of two nodes on one host take turns.
struct Record {
  Fd dir;
  Fd lock;
  struct Entry {
    MountId id;
    std::string relative;
  };
  std::vector<Entry> entries;
};

// A line per mount: "<unique id> <listed id> <relative path>" (a relative
// path has no newline: slurm::stays_below refuses one).
constexpr std::string_view kRecordHeader = "batchai-prolog mounts 1\n";

bool is_job_id(const std::string& id) {
  return !id.empty() && id.size() <= 20 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A directory of root's that no one else may write, not a link.
Result<Fd> root_dir(int at, const std::string& name, bool create) {
  if (create && ::mkdirat(at, name.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{"cannot create " + name + ": " + errno_text()};
  }
  Fd fd(::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.ok()) return Error{"cannot open " + name + ": " + errno_text()};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || st.st_uid != ::geteuid() || (st.st_mode & 022)) {
    return Error{name + " is not a directory that only root can write"};
  }
  return fd;
}

Result<Record> open_record(const PrologJob& job, bool create) {
  if (!is_job_id(job.job_id)) return Error{"no job id to record the job's mounts under"};
  const std::string state = normal(job.state_root);
  if (create) ::mkdir(state.c_str(), 0700);
  auto top = root_dir(AT_FDCWD, state, false);
  if (!top) return top.error();
  auto dir = root_dir(top->get(), job.job_id, create);
  if (!dir) return Error{state + "/" + dir.error().message};
  Record r;
  r.dir = std::move(*dir);
  r.lock = Fd(::openat(r.dir.get(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!r.lock.ok() || ::flock(r.lock.get(), LOCK_EX) != 0) {
    return Error{"cannot lock the job's record: " + errno_text()};
  }
  Fd in(::openat(r.dir.get(), "mounts", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!in.ok()) return r;
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(in.get(), buf, sizeof buf)) > 0 && text.size() < (1u << 20);) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  if (!text.starts_with(kRecordHeader)) return Error{"the job's record of mounts is not one batchai-prolog wrote"};
  for (std::size_t at = kRecordHeader.size(); at < text.size();) {
    const std::size_t end = text.find('\n', at);
    if (end == std::string::npos) break;
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    char* stop = nullptr;
    MountId id;
    id.unique = std::strtoull(line.c_str(), &stop, 10);
    if (*stop != ' ') continue;
    const char* second = stop + 1;
    id.listed = std::strtoull(second, &stop, 10);
    if (*stop != ' ' || stop == second || !stop[1]) continue;
    r.entries.push_back({id, std::string(stop + 1)});
  }
  return r;
}

// Written whole: a temporary file renamed over the last record.
Status write_record(const Record& r) {
  std::string text(kRecordHeader);
  for (const auto& e : r.entries) {
    text += std::to_string(e.id.unique) + " " + std::to_string(e.id.listed) + " " + e.relative + "\n";
  }
  Fd out(::openat(r.dir.get(), "mounts.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.ok() || ::write(out.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::renameat(r.dir.get(), "mounts.tmp", r.dir.get(), "mounts") != 0) {
    return Error{"cannot record the job's mounts: " + errno_text()};
  }
  return {};
}

void remove_record(const PrologJob& job, Record& r) {
  ::unlinkat(r.dir.get(), "mounts", 0);
  ::unlinkat(r.dir.get(), "mounts.tmp", 0);
  ::unlinkat(r.dir.get(), "lock", 0);
  r.dir = Fd();
  if (Fd top(::open(normal(job.state_root).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)); top.ok()) {
    ::unlinkat(top.get(), job.job_id.c_str(), AT_REMOVEDIR);
  }
}

// ---- the mount point ---------------------------------------------------------

// The directory the volume is mounted on: walked from the job's mount root
// on one mount, each directory the user's and made by the user if missing
// (with the volume's directoryMode). Sets `already` when the volume's own
// source is mounted there (a node on the same host mounted it first).
Result<Fd> open_mount_point(const Fd& mount_root, const slurm::NodeVolume& v, const Source& source,
                            const PrologJob& job, MountOps& ops, bool& already) {
  const auto parts = components(v.relative_path);
  const unsigned mode = v.directory_mode.value_or(0755);
  Fd at(::fcntl(mount_root.get(), F_DUPFD_CLOEXEC, 0));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto next = user_dir(at.get(), parts[i], job, ops, mode);
    if (!next && i + 1 == parts.size()) {
      // Is it a mount of this very source? Then it is done.
      Fd top = open_resolved(at.get(), parts[i], kDir, kBeneath);
      struct stat st {};
      if (top.ok() && ::fstat(top.get(), &st) == 0 && identity(st) == identity(source.st)) {
        already = true;
        return top;
      }
    }
    if (!next) return next.error();
    at = std::move(*next);
  }
  return at;
}

// ---- finding a recorded mount --------------------------------------------------

// The recorded place below the mount root: every directory on the way on
// the same mount, and the last one the mount's root.
Fd open_recorded_point(const Fd& mount_root, const std::string& relative) {
  const std::size_t slash = relative.rfind('/');
  Fd at = open_resolved(mount_root.get(), slash == std::string::npos ? "." : relative.substr(0, slash), kDir,
                        kSameMount);
  if (!at.ok()) return at;
  return open_resolved(at.get(), slash == std::string::npos ? relative : relative.substr(slash + 1), kDir, kBeneath);
}

std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::all_of(s.begin() + static_cast<long>(i) + 1,
                                                          s.begin() + static_cast<long>(i) + 4,
                                                          [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

// Where /proc/self/mountinfo lists the mount `listed` now; nullopt when
// it lists no such mount.
std::optional<std::string> listed_mount_point(std::uint64_t listed) {
  Fd table(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  if (!table.ok()) return std::nullopt;
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = ::read(table.get(), buf, sizeof buf)) > 0 && text.size() < (64u << 20);) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  const std::string prefix = std::to_string(listed) + " ";
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (!line.starts_with(prefix)) continue;
    // id parent major:minor root mount-point options...
    std::size_t start = 0;
    for (int skip = 0; skip < 4 && start != std::string_view::npos; ++skip) {
      start = line.find(' ', start);
      if (start != std::string_view::npos) ++start;
    }
    if (start == std::string_view::npos) return std::nullopt;
    const std::size_t stop = line.find(' ', start);
    return unescape_mountinfo(line.substr(start, stop == std::string_view::npos ? stop : stop - start));
  }
  return std::nullopt;
}

// The mount with this identity, wherever the kernel's table lists it. The
// listed path is only a hint, which the user may be changing: it is opened
// through no link, and the descriptor counts only if its mount is `id`;
// a path that changed under the open is read again.
Fd find_listed_mount(const MountId& id, MountOps& ops) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto point = listed_mount_point(id.listed);
    if (!point) return Fd();
    Fd fd = open_resolved(AT_FDCWD, *point, kDir, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    auto seen = fd.ok() ? ops.mount_id(fd.get()) : Result<MountId>(Error{"gone"});
    if (seen && *seen == id) return fd;
  }
  return Fd();
}

}  // namespace

Result<Fd> open_job_dir(const PrologJob& job, const site::SiteConfig& site) {
  return open_job_dir(job, site, nullptr);
}

std::optional<NodeError> mount_volumes(const PrologJob& job, const site::SiteConfig& site, const Log& log,
                                       MountOps& ops) {
  auto mount_error = [&](const std::string& what) { return NodeError{"MountError", what}; };
  // limits.h's bounds before anything is opened, for every caller.
  if (auto e = check_volumes(job)) return e;
  std::set<Identity> chain;  // the job directory and every directory above it
  auto dir = open_job_dir(job, site, &chain);
  if (!dir) return mount_error("on " + job.node + ": " + dir.error().message);
  auto mount_root = user_dir(dir->get(), "mounts", job, ops, 0755);
  if (!mount_root) return mount_error("on " + job.node + ": " + mount_root.error().message);
  const std::vector<gid_t> groups = job_groups(job);
  std::optional<Record> record;
  for (const auto& v : job.plan.volumes) {
    auto fail = [&](const std::string& why) {
      return mount_error("volume '" + v.relative_path + "' on " + job.node + ": " + why);
    };
    if (!slurm::stays_below(v.relative_path) || components(v.relative_path).empty()) {
      return fail("the path escapes $AZ_BATCHAI_JOB_MOUNT_ROOT");
    }
    if (v.relative_path.size() > kMaxMountPath || job.job_dir.size() + v.relative_path.size() > PATH_MAX / 2) {
      return fail("the path is longer than " + std::to_string(kMaxMountPath) + " characters");
    }
    if (!v.refused.empty()) {
      // The job's own setup step records why; root has nothing to do.
      log("volume " + v.relative_path + ": not provided by this site");
      continue;
    }
    auto source = open_source(v.source, site, groups, job.uid);
    if (!source) return fail(source.error().message);
    // Mounting the job directory, or a directory above it, inside the job
    // directory would repeat the tree in itself, once more for each volume.
    if (chain.count(identity(source->st))) {
      return fail("its source " + v.source + " holds the job directory");
    }
    // From here on, one node of this host at a time: the check that a
    // volume is already mounted, and the mount, are one step.
    if (!record) {
      auto opened = open_record(job, true);
      if (!opened) return fail(opened.error().message);
      record = std::move(*opened);
    }
    bool already = false;
    auto point = open_mount_point(*mount_root, v, *source, job, ops, already);
    if (!point) return fail(point.error().message);
    if (already) {
      log("volume " + v.relative_path + ": " + v.source + " already mounted");
      continue;
    }
    auto tree = ops.clone_tree(source->fd.get());
    if (!tree) return fail(tree.error().message);
    if (auto s = ops.restrict_tree(tree->get()); !s) return fail(s.error().message);
    auto id = ops.mount_id(tree->get());
    if (!id) return fail(id.error().message);
    // Recorded before it is attached, so that no end of this process (the
    // watchdog, a signal) leaves a mount the Epilog does not know.
    record->entries.push_back({*id, v.relative_path});
    if (auto s = write_record(*record); !s) return fail(s.error().message);
    if (auto s = ops.attach(tree->get(), point->get()); !s) return fail(s.error().message);
    // The user may have moved the mount point away meanwhile: then the mount
    // is not where the Epilog will look, and it goes at once.
    Fd check = open_resolved(mount_root->get(), v.relative_path, kDir, kBeneath);
    auto seen = check.ok() ? ops.mount_id(check.get()) : Result<MountId>(Error{"gone"});
    if (!seen || *seen != *id) {
      (void)ops.detach(tree->get());
      return fail("its mount point moved while it was being mounted");
    }
    log("volume " + v.relative_path + ": bind-mounted " + v.source);
  }
  return std::nullopt;
}

int unmount_volumes(const PrologJob& job, const site::SiteConfig& site, const Log& log, MountOps& ops) {
  if (!is_job_id(job.job_id)) return 0;
  {
    // Nothing recorded, nothing to do (and no directory to make for it).
    const std::string path = normal(job.state_root) + "/" + job.job_id;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return 0;
  }
  auto record = open_record(job, false);
  if (!record) {
    log("no unmounting: " + record.error().message);
    return 0;
  }
  auto dir = open_job_dir(job, site, nullptr);
  Fd mount_root;
  if (dir) mount_root = open_resolved(dir->get(), "mounts", kDir, kSameMount);
  int count = 0;
  for (auto e = record->entries.rbegin(); e != record->entries.rend(); ++e) {
    // Where it was mounted, from the job's mount root; failing that (the
    // user moved or replaced a directory on the way), wherever the kernel's
    // table lists that mount now. Either way it is unmounted only through a
    // descriptor whose mount is the recorded one.
    Fd point = mount_root.ok() ? open_recorded_point(mount_root, e->relative) : Fd();
    auto id = point.ok() ? ops.mount_id(point.get()) : Result<MountId>(Error{"not found"});
    if (!id || *id != e->id) point = find_listed_mount(e->id, ops);
    if (!point.ok()) {
      log("not unmounting " + e->relative + ": the mount the Prolog made is no longer there");
      continue;
    }
    if (auto s = ops.detach(point.get()); !s) {
      log("cannot unmount " + e->relative + ": " + s.error().message);
      continue;
    }
    ++count;
    log("unmounted " + e->relative);
  }
  remove_record(job, *record);
  return count;
}

}  // namespace batchai::prolog
