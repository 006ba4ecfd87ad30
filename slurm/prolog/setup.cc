#include "slurm/prolog/setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "slurm/prolog/fd.h"

namespace batchai::prolog {
namespace {

std::optional<NodeError> link_volume(const Fd& root, const slurm::NodeVolume& v, const NodeSetup& setup,
                                     const Log& log) {
  auto mount_error = [&](const std::string& why) {
    return NodeError{"MountError", "volume '" + v.relative_path + "' on " + setup.node + ": " + why};
  };
  if (!slurm::stays_below(v.relative_path)) return mount_error("the path escapes $AZ_BATCHAI_JOB_MOUNT_ROOT");
  if (!v.refused.empty()) return mount_error(v.refused);
  const auto parts = components(v.relative_path);
  if (parts.empty()) return mount_error("the path names the mount root itself");
  struct stat st {};
  if (::stat(v.source.c_str(), &st) != 0) {
    return mount_error("its source " + v.source + " cannot be reached on this node (" + errno_text() +
                       "); the share map in the site's site.json names it");
  }
  if (!S_ISDIR(st.st_mode)) return mount_error("its source " + v.source + " is not a directory");
  // Down from the mount root one component at a time, never following a
  // symbolic link: O_NOFOLLOW refuses one in place of a directory.
  Fd at(::dup(root.get()));
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (::mkdirat(at.get(), parts[i].c_str(), 0755) == 0) {
      // Set after making it: mkdir's mode is cut by the user's umask.
      if (v.directory_mode && ::fchmodat(at.get(), parts[i].c_str(), *v.directory_mode, 0) != 0) {
        return mount_error("cannot set the mode of directory '" + parts[i] + "': " + errno_text());
      }
    } else if (errno != EEXIST) {
      return mount_error("cannot create directory '" + parts[i] + "': " + errno_text());
    }
    Fd next(::openat(at.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.ok()) {
      return mount_error(errno == ELOOP || errno == ENOTDIR
                             ? "'" + parts[i] + "' is a symbolic link or a file, not a directory below the mount root"
                             : "cannot open '" + parts[i] + "': " + errno_text());
    }
    at = std::move(next);
  }
  const std::string& name = parts.back();
  if (::symlinkat(v.source.c_str(), at.get(), name.c_str()) == 0) {
    log("volume " + v.relative_path + " -> " + v.source);
    return std::nullopt;
  }
  if (errno != EEXIST) return mount_error("cannot create the link: " + errno_text());
  // Mounted there by the site's Prolog (Prolog mode): the same directory.
  struct stat there {};
  if (::fstatat(at.get(), name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(there.st_mode) &&
      there.st_dev == st.st_dev && there.st_ino == st.st_ino) {
    log("volume " + v.relative_path + " -> " + v.source + " (mounted by the Prolog)");
    return std::nullopt;
  }
  // Made by another node of this job on a shared job directory, or by an
  // earlier attempt: fine if it is this volume's link.
  std::string existing(4096, '\0');
  const ssize_t n = ::readlinkat(at.get(), name.c_str(), existing.data(), existing.size());
  if (n < 0 || static_cast<std::size_t>(n) == existing.size() || existing.substr(0, n) != v.source) {
    return mount_error("'" + v.relative_path + "' already exists and is not a link to " + v.source);
  }
  log("volume " + v.relative_path + " -> " + v.source + " (already linked)");
  return std::nullopt;
}

}  // namespace

std::string error_json(const NodeError& error, const std::string& node,
                       const std::vector<std::pair<std::string, std::string>>& more_details) {
  namespace json = boost::json;
  json::array details{json::object{{"name", "node"}, {"value", node}}};
  for (const auto& [name, value] : more_details) details.push_back(json::object{{"name", name}, {"value", value}});
  return json::serialize(json::object{{"code", error.code}, {"message", error.message}, {"details", details}}) +
         "\n";
}

Result<Fd> walk_user_directories(const Fd& at, const std::vector<std::string>& parts, uid_t uid,
                                 std::optional<unsigned> mode) {
  Fd here(::fcntl(at.get(), F_DUPFD_CLOEXEC, 0));
  if (!here.ok()) return Error{"cannot duplicate a descriptor: " + errno_text()};
  struct stat st {};
  if (::fstat(here.get(), &st) != 0) return Error{"cannot inspect the directory: " + errno_text()};
  std::vector<Fd> made;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& name = parts[i];
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
      return Error{"'" + name + "' is not a directory name"};
    }
    const bool mine = st.st_uid == uid;
    // 0700 until the walk is done: a mode without the owner's write or
    // search bit would stop the walk below it.
    const bool making = mine && ::mkdirat(here.get(), name.c_str(), 0700) == 0;
    if (!making && mine && errno != EEXIST) return Error{"cannot create '" + name + "': " + errno_text()};
    Fd next(::openat(here.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.ok()) {
      if (errno == ELOOP || errno == ENOTDIR) return Error{"'" + name + "' is a symbolic link or a file"};
      if (errno == ENOENT && !mine) {
        return Error{"cannot create '" + name + "' in a directory that is not the job user's"};
      }
      return Error{"cannot open '" + name + "': " + errno_text()};
    }
    if (::fstat(next.get(), &st) != 0) return Error{"cannot inspect '" + name + "': " + errno_text()};
    const bool last = i + 1 == parts.size();
    if (st.st_uid != uid && !(last && st.st_uid == 0)) {
      return Error{"'" + name + "' belongs to another user; nothing is made inside it"};
    }
    if (making) made.emplace_back(::fcntl(next.get(), F_DUPFD_CLOEXEC, 0));
    here = std::move(next);
  }
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    if (::fchmod(it->get(), mode.value_or(0755)) != 0) {
      return Error{"cannot set the mode of a directory it made: " + errno_text()};
    }
  }
  return here;
}

Result<Fd> user_directories(const Fd& at, const std::vector<std::string>& parts, const User& user,
                            std::optional<unsigned> mode, std::chrono::milliseconds limit) {
  auto dir = as_user(user, limit, [&]() { return walk_user_directories(at, parts, user.uid, mode); });
  if (!dir && dir.error().message.starts_with("did not finish")) {
    return Error{"making the directories " + dir.error().message};
  }
  return dir;
}

std::optional<NodeError> set_up_node(const slurm::NodePlan& plan, const NodeSetup& setup, const Log& log) {
  auto failed = [&](const std::string& what, const std::error_code& ec) {
    return NodeError{"NodeSetupFailed", "on " + setup.node + ": cannot create " + what + ": " + ec.message()};
  };
  // Volumes first: the job's other directories (stdouterr, outputs) are
  // often inside one ("$AZ_BATCHAI_JOB_MOUNT_ROOT/logs/..."), and made
  // first they would stand where the volume's link belongs.
  std::error_code ec;
  std::filesystem::create_directories(setup.mount_root, ec);
  if (ec) return failed(setup.mount_root, ec);
  Fd root(::open(setup.mount_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.ok()) {
    return NodeError{"NodeSetupFailed", "on " + setup.node + ": cannot open " + setup.mount_root + ": " + errno_text()};
  }
  for (const auto& v : plan.volumes) {
    if (auto e = link_volume(root, v, setup, log)) return e;
  }
  for (const auto& d : setup.directories) {
    std::filesystem::create_directories(d, ec);
    if (ec) return failed(d, ec);
  }
  log("directories ready");
  return std::nullopt;
}

}  // namespace batchai::prolog
