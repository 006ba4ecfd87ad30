// What the cluster commands share. A Batch AI cluster here is a named
// binding to a Slurm partition with a node size; its nodes are the first
// currentNodeCount nodes of the partition, and their states are Slurm's,
// read through libslurm and mapped onto Batch AI's five counts.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "frontend/cli.h"
#include "frontend/output.h"
#include "frontend/state.h"
#include "slurm/client.h"
#include "slurm/job_plan.h"

namespace batchai::frontend {

struct NodeStateCounts {
  std::int64_t idle = 0, running = 0, preparing = 0, leaving = 0, unusable = 0;
};

// Batch AI's state of a cluster node, which its node list printed and its
// nodeStateCounts counted.
enum class NodeState { idle, running, preparing, leaving, unusable };

// "idle", "running", ... as az printed them.
const char* to_string(NodeState state);
// The inverse of to_string; nullopt for any other text.
std::optional<NodeState> parse_node_state(std::string_view text);

// Batch AI's state of one Slurm node.
NodeState batchai_node_state(const slurm::NodeInfo& node);

// The cluster's nodes: the partition's, in name order, up to the cluster's
// size (its target, or its maximum when auto-scaling).
std::vector<slurm::NodeInfo> cluster_nodes(const state::Cluster& c, const std::vector<slurm::NodeInfo>& all);

NodeStateCounts count_states(const std::vector<slurm::NodeInfo>& nodes);

// The cluster object as az printed it, with live node counts.
boost::json::object cluster_to_json(const state::Cluster& c, const std::vector<slurm::NodeInfo>& nodes);

// `-o table`: Name, Resource Group, Workspace, VM Size, State, Idle,
// Running, Preparing, Leaving, Unusable.
boost::json::object cluster_table_row(const state::Cluster& c, const std::vector<slurm::NodeInfo>& nodes);
std::span<const Column> cluster_table_columns();

// Batch AI's stdOutErrPathSuffix of the cluster's setup task:
// <group>/workspaces/<ws>/clusters/<cluster>/<setup uuid>.
std::string setup_output_suffix(const state::Cluster& c);

// The setup task the cluster's jobs run first on every node; none where
// the cluster has none (or its record is unreadable, which create
// prevents).
std::optional<slurm::SetupTask> setup_task_of(const state::Cluster& c);

// The setup task's output directory as this machine sees it, with
// $AZ_BATCHAI_MOUNT_ROOT (the only variable create admits) expanded to the
// site's mount root; none where the cluster has no setup task.
std::optional<std::string> setup_output_dir(const state::Cluster& c, const std::string& mount_root);

// Emits one cluster or a list, as JSON objects or table rows.
Status emit_clusters(Context& ctx, const std::vector<state::Cluster>& clusters, bool single);

// The cluster named by `flag` ("name" or "cluster") in the workspace of
// -g/-w; the errors name what is missing.
Result<state::Cluster> find_cluster(const Context& ctx, const args::Parsed& p, state::Store& store,
                                    std::string_view flag);

}  // namespace batchai::frontend
