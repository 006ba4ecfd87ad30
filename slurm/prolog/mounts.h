// Prolog mode: Slurm's Prolog, as root, bind-mounts a job's volumes at
// $AZ_BATCHAI_JOB_MOUNT_ROOT/<relativeMountPath> on each node at
// allocation, and the Epilog unmounts them. This is the only code of
// batchai that runs as root, on input the job's user controls (the
// submission's SPANK_BATCHAI_* values, the job directory, every directory
// of the shares), so it runs nothing of the user's and resolves no path the
// user could change between a check and its use:
//   - every path is walked by descriptor, one openat2 at a time, beneath
//     where it starts, through no symbolic link and across no mount;
//   - a source is one of the site's shares, reachable by the job's user
//     with their own permissions, and not the job directory or above it;
//   - what is mounted is the directory that was checked (open_tree on its
//     descriptor), private, nosuid and nodev, attached on the mount point's
//     descriptor (move_mount);
//   - directories on the way are made by the user, in a child process;
//   - each mount's identity is recorded where only root can write, and the
//     Epilog unmounts that mount and nothing else.
// docs/admin-guide.md ("Prolog mode: threat model") says what it trusts.
// Library code: it reports, it never exits.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "io/site_config.h"
#include "slurm/node_plan.h"
#include "slurm/prolog/fd.h"
#include "slurm/prolog/mount_ops.h"
#include "slurm/prolog/setup.h"

namespace batchai::prolog {

struct PrologJob {
  uid_t uid = 0;
  gid_t gid = 0;
  // The user's supplementary groups, for the search-permission check;
  // empty: looked up (getgrouplist) when needed.
  std::vector<gid_t> groups;
  std::string node;
  std::string job_id;   // SLURM_JOB_ID: names the record of the job's mounts
  std::string job_dir;  // as the submission named it
  slurm::NodePlan plan;
  // Where root records what it mounted, <state_root>/<job_id>/mounts: a
  // directory only root can write, which the Epilog reads back.
  std::string state_root = "/run/batchai";
};

// The job directory, opened from the site's jobsRoot one component at a
// time, through no symbolic link, and owned by the job's user.
Result<Fd> open_job_dir(const PrologJob& job, const site::SiteConfig& site);

// Mounts each volume, in order, and records each mount before it is
// attached. The mount points and the directories above them are the job's
// user's; a volume already mounted there from the same source (a second
// node on the same host; the nodes of a host take turns) is left as it is.
std::optional<NodeError> mount_volumes(const PrologJob& job, const site::SiteConfig& site, const Log& log,
                                       MountOps& ops = system_mount_ops());

// Unmounts, last first and lazily (a busy file cannot block the node), the
// mounts the Prolog recorded for this job, each only where the mount at its
// recorded place is still the recorded one; then removes the record.
// Returns how many it unmounted.
int unmount_volumes(const PrologJob& job, const site::SiteConfig& site, const Log& log,
                    MountOps& ops = system_mount_ops());

}  // namespace batchai::prolog
