// Prolog mode's failures, recorded where the job's first step finds them:
// errors/<node>.json in the job directory. A failure there is the job's,
// never the node's, so Slurm drains nothing over a user's mistake.
#pragma once

#include "base/result.h"
#include "io/site_config.h"
#include "slurm/prolog/mounts.h"
#include "slurm/prolog/setup.h"

namespace batchai::prolog {

// Writes the error to errors/<node>.json in the job directory, owned by the
// job's user (written by a child as the user, through safe_file.h, all
// within kRecordLimit); the job's first step finds it there and fails the
// job. The error says why it could not be recorded.
Status record_prolog_error(const PrologJob& job, const site::SiteConfig& site, const NodeError& error);

}  // namespace batchai::prolog
