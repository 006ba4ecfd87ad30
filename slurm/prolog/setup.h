// One node's part of a job's preparation, as Batch AI did it before the
// job's processes started: the job's directories, then its volumes under
// $AZ_BATCHAI_JOB_MOUNT_ROOT. Library code: it reports, it never exits.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "slurm/node_plan.h"

namespace batchai::prolog {

struct NodeSetup {
  std::string node;                      // Slurm's node name
  std::string mount_root;                // $AZ_BATCHAI_JOB_MOUNT_ROOT
  std::vector<std::string> directories;  // made if missing: scratch, shared temp, outputs
};

// A Batch AI error (executionInfo.errors[]): "MountError",
// "NodeSetupFailed"; the message says what and where.
struct NodeError {
  std::string code;
  std::string message;
};

using Log = std::function<void(const std::string&)>;

// The error as errors/<node>.json holds it, Batch AI's BatchAIError:
// {code, message, details: [{name: "node", value}, {name, value}...]}.
std::string error_json(const NodeError& error, const std::string& node,
                       const std::vector<std::pair<std::string, std::string>>& more_details);

// Makes each volume as a link to its source, then the directories. A link
// that another node of the job already made (on a shared job directory) is
// accepted when it points at the same source. No symbolic link on the way
// below the mount root is followed, so an edited plan or a planted link
// cannot put a volume outside it.
std::optional<NodeError> set_up_node(const slurm::NodePlan& plan, const NodeSetup& setup, const Log& log);

}  // namespace batchai::prolog
