// The Epilog's cleanup of a job's node-local scratch, which the job's own
// last step leaves behind when the job is cancelled.
#pragma once

#include <chrono>
#include <string>

#include "io/site_config.h"
#include "slurm/prolog/mounts.h"
#include "slurm/prolog/setup.h"

namespace batchai::prolog {

// Removes the node's scratch for the job (<nodeTempRoot>/batchai-job-<id>),
// which the job's own last step leaves behind when it is cancelled. As the
// job's user, in a child process: a tree the user owns is removed with the
// user's rights, so no link they plant in it leads root elsewhere. The
// child is killed after `limit`.
void remove_node_scratch(const PrologJob& job, const site::SiteConfig& site, const std::string& job_id,
                         const Log& log, std::chrono::milliseconds limit = std::chrono::seconds(30));

}  // namespace batchai::prolog
