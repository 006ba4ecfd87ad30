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

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace batchai::slurm {

struct NodeVolume {
  std::string relative_path;  // under the job's mount root
  std::string source;         // absolute: the site's directory; empty when refused
  // job.json's directoryMode: the mode of each directory made on the way
  // to the volume (a nested relativeMountPath). Unset: 0755. The volume's
  // own directory is the site's and keeps its modes.
  std::optional<unsigned> directory_mode;
  // Why the site will not provide this volume (a mountCommand outside its
  // allowlist). The node records it as the job's MountError, so the job
  // fails with its logs, as in Batch AI.
  std::string refused;
};

struct NodePlan {
  std::vector<NodeVolume> volumes;
};

std::string node_plan_json(const NodePlan& plan);

// Errors name `file` and the JSON path.
Result<NodePlan> parse_node_plan(std::string_view text, std::string_view file);

// An octal mode as Batch AI wrote them ("0755", "755"), at most 0777.
std::optional<unsigned> parse_mode(std::string_view text);
std::string mode_text(unsigned mode);  // "0755"

// A relative path that stays below its root: not empty, not absolute, no
// ".." component, no newline or NUL. Symbolic links on the way are checked
// where the path is used, on the node.
bool stays_below(std::string_view relative);

// The one spelling of a relative path that stays below its root: "." and
// empty components dropped ("in/./data/" -> "in/data"). Every consumer then
// sees the same string: the translator's duplicate check, the Prolog's
// record of what it mounted and the Epilog that finds it by that record.
// nullopt when the path escapes (stays_below) or names the root itself.
std::optional<std::string> normal_relative(std::string_view relative);

}  // namespace batchai::slurm
