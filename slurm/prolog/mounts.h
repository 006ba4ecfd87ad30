// Prolog mode: Slurm's Prolog, as root, bind-mounts a job's volumes at
// $AZ_BATCHAI_JOB_MOUNT_ROOT/<relativeMountPath> on each node at
// allocation, and the Epilog unmounts them. This is the only code of
// batchai that runs as root, so it runs nothing of the user's and trusts
// nothing the user wrote: the plan arrives through the job's submission
// (spank_job_env), every source must be one of the site's own shares, the
// job directory must lie in the site's jobsRoot and belong to the job's
// user, and no path below it is resolved through a symbolic link.
// Library code: it reports, it never exits.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "io/site_config.h"
#include "slurm/node_plan.h"
#include "slurm/prolog/fd.h"
#include "slurm/prolog/setup.h"

namespace batchai::prolog {

struct PrologJob {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string node;
  std::string job_dir;  // as the submission named it
  slurm::NodePlan plan;
};

// Mounts each volume. The mount points and the directories above them
// belong to the job's user; a volume already mounted there from the same
// source (a second node on the same host) is left as it is.
std::optional<NodeError> mount_volumes(const PrologJob& job, const site::SiteConfig& site, const Log& log);

// Unmounts (lazily, so a busy file cannot block the node) every mount below
// the job's mount root, as the kernel's mount table lists them. Returns how
// many.
int unmount_volumes(const PrologJob& job, const site::SiteConfig& site, const Log& log);

// The job directory, opened from the site's jobsRoot one component at a
// time without following links, and owned by the job's user.
Result<Fd> open_job_dir(const PrologJob& job, const site::SiteConfig& site);

// A directory below `at`, made for the job's user if missing; refuses a
// link or a directory of someone else's.
Result<Fd> user_dir(const Fd& at, const std::string& name, const PrologJob& job,
                    std::optional<unsigned> mode = std::nullopt);

}  // namespace batchai::prolog
