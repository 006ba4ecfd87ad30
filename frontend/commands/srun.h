// Running srun for the node exec commands: in place of Batch AI's SSH to a
// node, a step in the job's allocation (or a small job on a cluster node),
// so Slurm's access rules and accounting apply.
#pragma once

#include <string>
#include <vector>

#include "frontend/cli.h"

namespace batchai::frontend {

// Runs `srun <args>` with the terminal's stdin, stdout and stderr and the
// context's environment; returns its exit status (128+signal if killed).
Result<int> run_srun(const Context& ctx, const std::vector<std::string>& args);

}  // namespace batchai::frontend
