#include "slurm/prolog/mount_ops.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "slurm/prolog/as_user.h"

// glibc wraps these only from 2.36, and the headers of older kernels lack
// the constants: the values are the kernel's ABI.
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#endif
#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef MS_PRIVATE
#define MS_PRIVATE (1 << 18)
#endif
#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

namespace batchai::prolog {
namespace {

// struct mount_attr, under our own name: glibc 2.36 declares it in
// <sys/mount.h>, older ones do not.
struct MountAttr {
  std::uint64_t attr_set;
  std::uint64_t attr_clr;
  std::uint64_t propagation;
  std::uint64_t userns_fd;
};

// One directory made as the user; user_directories (setup.h) gives a
// whole walk the same.
constexpr std::chrono::seconds kMakeDirLimit{10};

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

class SystemMountOps final : public MountOps {
 public:
  Result<Fd> clone_tree(int dir) override {
    Fd tree(static_cast<int>(
        ::syscall(SYS_open_tree, dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)));
    if (!tree.ok()) return Error{"cannot copy the mount (open_tree): " + errno_text()};
    return tree;
  }

  Status restrict_tree(int tree) override {
    MountAttr attr{MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, MS_PRIVATE, 0};
    if (::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
      return Error{"cannot make the mount private, nosuid and nodev (mount_setattr, Linux >= 5.12): " +
                   errno_text()};
    }
    return {};
  }

  Status attach(int tree, int point) override {
    if (::syscall(SYS_move_mount, tree, "", point, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
      return Error{"cannot attach the mount (move_mount): " + errno_text()};
    }
    return {};
  }

  Result<MountId> mount_id(int fd) override {
    MountId id;
    struct statx st {};
    if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &st) != 0) {
      return Error{"cannot read the mount's identity (statx): " + errno_text()};
    }
    if (!(st.stx_mask & STATX_MNT_ID)) return Error{"the kernel gives no mount identity (statx, Linux >= 5.8)"};
    id.listed = st.stx_mnt_id;
    // A kernel that does not know the flag ignores it and leaves it out of
    // the mask.
    st = {};
    if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &st) == 0 &&
        (st.stx_mask & STATX_MNT_ID_UNIQUE)) {
      id.unique = st.stx_mnt_id;
    }
    return id;
  }

  // Through the magic link of our own descriptor, which the kernel resolves
  // to exactly the mount the descriptor holds, so it must be followed
  // (UMOUNT_NOFOLLOW would name the link itself); MNT_DETACH so that a busy
  // file cannot hold the node.
  Status detach(int fd) override {
    if (::umount2(fd_path(fd).c_str(), MNT_DETACH) != 0) return Error{"cannot unmount: " + errno_text()};
    return {};
  }

  // In as_user's child: the user's groups too, no way back to root, and
  // killed after a time limit if the directory's filesystem hangs.
  Status make_dir_as_user(int at, const std::string& name, unsigned mode, uid_t uid, gid_t gid) override {
    auto made = as_user(User{uid, gid}, kMakeDirLimit, [&]() -> Status {
      ::umask(0);  // the child's own: the directory gets exactly `mode`
      if (::mkdirat(at, name.c_str(), mode) != 0) return Error{errno_text()};
      return {};
    });
    if (!made) return Error{"cannot create '" + name + "' as the job's user: " + made.error().message};
    return {};
  }
};

}  // namespace

MountOps& system_mount_ops() {
  static SystemMountOps ops;
  return ops;
}

Fd open_resolved(int at, const std::string& path, int flags, std::uint64_t resolve) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = resolve;
  return Fd(static_cast<int>(::syscall(SYS_openat2, at, path.c_str(), &how, sizeof how)));
}

}  // namespace batchai::prolog
