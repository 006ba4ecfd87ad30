// Prolog mode's failures, recorded where the job's first step finds them:
// errors/<node>.json in the job directory. A failure there is the job's,
// never the node's, so Slurm drains nothing over a user's mistake.
#pragma once

#include "io/site_config.h"
#include "slurm/prolog/mounts.h"
#include "slurm/prolog/setup.h"

namespace batchai::prolog {

// Writes the error to errors/<node>.json in the job directory, owned by the
// job's user; the job's first step finds it there and fails the job.
void record_prolog_error(const PrologJob& job, const site::SiteConfig& site, const NodeError& error);

}  // namespace batchai::prolog
