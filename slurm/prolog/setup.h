// One node's part of a job's preparation, as Batch AI did it before the
// job's processes started: the job's directories, then its volumes under
// $AZ_BATCHAI_JOB_MOUNT_ROOT. Library code: it reports, it never exits.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "slurm/node_plan.h"
#include "slurm/prolog/as_user.h"
#include "slurm/prolog/fd.h"

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

// Prolog mode: the directories below the job directory (the mount root,
// those on the way to a mount point, errors/), made by the job's user in a
// child process, so root never makes one and hands it over. Walks `parts`
// down from `at` without following a symbolic link, makes what is missing,
// and returns the last one opened. It makes nothing inside a directory the
// user does not own, and walks through none: an existing directory of
// someone else's (a share mounted there) may only be the last. Directories
// it made get `mode` (default 0755) once all are made, whatever the umask.
// The whole walk is killed after `limit`.
Result<Fd> user_directories(const Fd& at, const std::vector<std::string>& parts, const User& user,
                            std::optional<unsigned> mode,
                            std::chrono::milliseconds limit = std::chrono::seconds(10));

// The same walk in this process, which must already be the user (as inside
// as_user).
Result<Fd> walk_user_directories(const Fd& at, const std::vector<std::string>& parts, uid_t uid,
                                 std::optional<unsigned> mode);

}  // namespace batchai::prolog
