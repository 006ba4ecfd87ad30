#include "slurm/prolog/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "slurm/prolog/fd.h"

namespace batchai::prolog {
namespace {

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

}  // namespace

Result<Fd> open_job_dir(const PrologJob& job, const site::SiteConfig& site) {
  const auto root = real_path(site.jobs_root);
  if (!root) return Error{"the site's jobsRoot " + site.jobs_root + " cannot be reached: " + errno_text()};
  const auto rel = below(*root, job.job_dir);
  if (!rel || rel->empty() || !slurm::stays_below(*rel)) {
    return Error{"the job directory " + job.job_dir + " is not in the site's jobsRoot " + *root};
  }
  Fd at(::open(root->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!at.ok()) return Error{"cannot open " + *root + ": " + errno_text()};
  for (const auto& part : components(*rel)) {
    Fd next(::openat(at.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.ok()) {
      return Error{"cannot open the job directory " + job.job_dir + ": '" + part + "' " +
                   (errno == ELOOP || errno == ENOTDIR ? std::string("is a symbolic link or a file")
                                                       : "cannot be opened: " + errno_text())};
    }
    at = std::move(next);
  }
  struct stat st {};
  if (::fstat(at.get(), &st) != 0 || st.st_uid != job.uid) {
    return Error{"the job directory " + job.job_dir + " does not belong to the job's user"};
  }
  return at;
}

Result<Fd> user_dir(const Fd& at, const std::string& name, const PrologJob& job, std::optional<unsigned> mode) {
  // Made by the user, in a child with the user's credentials: nothing for
  // root to chown, and the kernel checks the user's own rights.
  return user_directories(at, {name}, User{job.uid, job.gid}, mode);
}

namespace {

// The site directory a volume's source names: one of the site's shares, a
// directory below one (a file server's sourceDirectory), or a file share a
// user made with `batchai storage` (a directory below the storageRoot of
// the site.json root reads, "~" being the job user's home). Resolved
// first, so a link cannot lead from either into anything else.
Result<std::string> site_source(const std::string& source, const site::SiteConfig& site) {
  const auto real = real_path(source);
  if (!real) return Error{"its source " + source + " cannot be reached on this node (" + errno_text() + ")"};
  for (const auto& share : site.shares) {
    const auto share_real = real_path(share.path);
    if (share_real && below(*share_real, *real)) return *real;
  }
  // The storage root may lie in the user's home, where the user could make
  // it a link to anywhere; so it counts only where its real path is the
  // one site.json gives (an admin sets the real path where links lead to it).
  const std::string configured = std::filesystem::path(site.storage_root + "/").lexically_normal().parent_path().string();
  if (const auto storage = real_path(site.storage_root); storage && *storage == configured) {
    const auto rel = below(*storage, *real);
    if (rel && !rel->empty()) return *real;
  }
  return Error{"its source " + source + " is not one of the site's shares"};
}

std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct(s.substr(i + 1, 3));
      if (oct.size() == 3 && std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>(std::stoi(oct, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::optional<NodeError> mount_volumes(const PrologJob& job, const site::SiteConfig& site, const Log& log) {
  auto mount_error = [&](const std::string& what) { return NodeError{"MountError", what}; };
  auto dir = open_job_dir(job, site);
  if (!dir) return mount_error("on " + job.node + ": " + dir.error().message);
  auto mounts = user_dir(*dir, "mounts", job);
  if (!mounts) return mount_error("on " + job.node + ": " + mounts.error().message);
  for (const auto& v : job.plan.volumes) {
    auto fail = [&](const std::string& why) {
      return mount_error("volume '" + v.relative_path + "' on " + job.node + ": " + why);
    };
    if (!slurm::stays_below(v.relative_path)) return fail("the path escapes $AZ_BATCHAI_JOB_MOUNT_ROOT");
    if (!v.refused.empty()) {
      // The job's own setup step records why; root has nothing to do.
      log("volume " + v.relative_path + ": not provided by this site");
      continue;
    }
    auto source = site_source(v.source, site);
    if (!source) return fail(source.error().message);
    Fd at(::dup(mounts->get()));
    for (const auto& part : components(v.relative_path)) {
      auto next = user_dir(at, part, job, v.directory_mode);
      if (!next) return fail(next.error().message);
      at = std::move(*next);
    }
    struct stat point {}, from {};
    if (::fstat(at.get(), &point) == 0 && ::stat(source->c_str(), &from) == 0 && point.st_dev == from.st_dev &&
        point.st_ino == from.st_ino) {
      log("volume " + v.relative_path + ": " + *source + " already mounted");
      continue;
    }
    // Through the descriptor, so the mount lands on exactly the directory
    // opened above, whatever the user renames meanwhile.
    const std::string target = "/proc/self/fd/" + std::to_string(at.get());
    if (::mount(source->c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return fail("cannot bind-mount " + *source + ": " + errno_text());
    }
    log("volume " + v.relative_path + ": bind-mounted " + *source);
  }
  return std::nullopt;
}

int unmount_volumes(const PrologJob& job, const site::SiteConfig& site, const Log& log) {
  auto dir = open_job_dir(job, site);
  if (!dir) {
    log("no unmounting: " + dir.error().message);
    return 0;
  }
  const auto real = real_path(job.job_dir);
  if (!real) return 0;
  const std::string root = *real + "/mounts";
  std::vector<std::string> points;
  std::ifstream table("/proc/self/mountinfo");
  for (std::string line; std::getline(table, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, source_root, point;
    fields >> id >> parent >> devno >> source_root >> point;
    const std::string p = unescape_mountinfo(point);
    if (auto rel = below(root, p); rel && !rel->empty()) points.push_back(p);
  }
  // Deepest first; a volume mounted twice (two nodes on one host) twice.
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  int count = 0;
  for (const auto& p : points) {
    if (::umount2(p.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
      ++count;
      log("unmounted " + p);
    } else if (errno != EINVAL && errno != ENOENT) {
      log("cannot unmount " + p + ": " + errno_text());
    }
  }
  return count;
}

}  // namespace batchai::prolog
