// What batchai-prolog sets up on each node of a job: the job's volumes,
// each a directory the site already has (a Lustre, NFS or GPFS path the
// site configuration maps the Batch AI share to), shown at
// $AZ_BATCHAI_JOB_MOUNT_ROOT/<relativeMountPath>.
//
// The job script passes them to batchai-prolog as --volume arguments. The
// JSON form is for a Slurm Prolog, which sees no arguments and no job
// environment, only what the submission carried. Whoever reads a plan
// trusts nothing in it: a user can write one, so every path is checked
// again where it is used.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "io/result.h"

namespace batchai::slurm {

struct NodeVolume {
  std::string relative_path;  // under the job's mount root
  std::string source;         // absolute: the site's directory
};

struct NodePlan {
  std::vector<NodeVolume> volumes;
};

std::string node_plan_json(const NodePlan& plan);

// Errors name `file` and the JSON path.
Result<NodePlan> parse_node_plan(std::string_view text, std::string_view file);

// A relative path that stays below its root: not empty, not absolute, no
// ".." component, no newline or NUL. Symbolic links on the way are checked
// where the path is used, on the node.
bool stays_below(std::string_view relative);

}  // namespace batchai::slurm
