// A MountOps that mounts nothing: it records each call and keeps its own
// table of "mounts" (the directory each copy was attached on), so a fuzzer
// or a unit test runs every check of Prolog mode without root and then asks
// what would have been mounted where. Directories are made directly, as
// the caller: a test runs as the job's user.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "slurm/prolog/mount_ops.h"

namespace batchai::prolog {

class FakeMountOps final : public MountOps {
 public:
  struct Mount {
    std::uint64_t id;
    std::string source;  // the path the copied directory had when copied
    std::string point;   // the path the mount point had when attached
    bool restricted;
  };
  using Key = std::pair<dev_t, ino_t>;

  Result<Fd> clone_tree(int dir) override {
    calls.push_back("clone_tree " + path_of(dir));
    Fd tree(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
    if (!tree.ok()) return Error{"cannot copy the mount: " + errno_text()};
    trees_[tree.get()] = Mount{next_id_++, path_of(dir), "", false};
    return tree;
  }
  Status restrict_tree(int tree) override {
    calls.push_back("restrict_tree");
    auto it = trees_.find(tree);
    if (it == trees_.end()) return Error{"not a copied tree"};
    it->second.restricted = true;
    return {};
  }
  Status attach(int tree, int point) override {
    calls.push_back("attach " + path_of(point));
    auto it = trees_.find(tree);
    if (it == trees_.end()) return Error{"not a copied tree"};
    it->second.point = path_of(point);
    mounted[key(point)] = it->second;
    trees_.erase(it);
    return {};
  }
  Result<MountId> mount_id(int fd) override {
    if (auto t = trees_.find(fd); t != trees_.end()) return MountId{t->second.id, t->second.id};
    if (auto m = mounted.find(key(fd)); m != mounted.end()) return MountId{m->second.id, m->second.id};
    return MountId{1, 1};  // the filesystem's own mount
  }
  Status detach(int fd) override {
    calls.push_back("detach " + path_of(fd));
    if (mounted.erase(key(fd)) == 0) return Error{"cannot unmount: " + std::string(std::strerror(EINVAL))};
    return {};
  }
  Status make_dir_as_user(int at, const std::string& name, unsigned mode, uid_t, gid_t) override {
    calls.push_back("mkdir " + name);
    if (::mkdirat(at, name.c_str(), mode) != 0) return Error{"cannot create '" + name + "': " + errno_text()};
    return {};
  }

  std::vector<std::string> calls;
  std::map<Key, Mount> mounted;  // by the mount point's identity

 private:
  static Key key(int fd) {
    struct stat st {};
    ::fstat(fd, &st);
    return {st.st_dev, st.st_ino};
  }
  static std::string path_of(int fd) {
    char buf[4096];
    const ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
  }
  std::map<int, Mount> trees_;  // copied, not attached yet, by descriptor
  std::uint64_t next_id_ = 100;
};

}  // namespace batchai::prolog
