// The system calls Prolog mode mounts and unmounts with, behind an
// interface: the real ones need root and Linux >= 5.12, and a fake (see
// mount_ops_fake.h) lets a fuzzer or a unit test drive every check before
// them without either. All take descriptors: nothing here resolves a path a
// user could change.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/result.h"
#include "slurm/prolog/fd.h"

namespace batchai::prolog {

// A mount's identity: the kernel's unique id, never reused, where it has
// one (Linux >= 6.8; else 0), and the id /proc/self/mountinfo lists, which
// a later mount may reuse. Compared whole.
struct MountId {
  std::uint64_t unique = 0;
  std::uint64_t listed = 0;
  bool operator==(const MountId&) const = default;
};

class MountOps {
 public:
  virtual ~MountOps() = default;
  // A detached copy of the mount at `dir` (open_tree OPEN_TREE_CLONE), not
  // recursive: mounts below `dir` are not copied.
  virtual Result<Fd> clone_tree(int dir) = 0;
  // nosuid, nodev and private, on the detached copy before it is attached,
  // so it is never visible with the share's propagation or its setuid bits.
  virtual Status restrict_tree(int tree) = 0;
  // Attaches the copy on the directory `point` (move_mount).
  virtual Status attach(int tree, int point) = 0;
  // The identity of the mount `fd` lies on (statx STATX_MNT_ID and
  // STATX_MNT_ID_UNIQUE).
  virtual Result<MountId> mount_id(int fd) = 0;
  // Detaches the mount whose root `fd` is (umount2 through /proc/self/fd).
  virtual Status detach(int fd) = 0;
  // mkdirat(at, name, mode) as the user uid:gid, in a child process that
  // has dropped root: the user's permissions decide, and what is made is
  // the user's from the start.
  virtual Status make_dir_as_user(int at, const std::string& name, unsigned mode, uid_t uid, gid_t gid) = 0;
};

// The kernel's. Library code: reports, never exits.
MountOps& system_mount_ops();

// openat2(at, path, flags | O_CLOEXEC, resolve): the walk every check
// uses, real in tests and fuzzing too. Sets errno and returns an invalid Fd
// on failure (ENOSYS before Linux 5.6).
Fd open_resolved(int at, const std::string& path, int flags, std::uint64_t resolve);

}  // namespace batchai::prolog
