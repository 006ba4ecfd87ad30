#include "frontend/commands/cluster_common.h"

#include <algorithm>
#include <boost/json.hpp>

#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {

namespace json = boost::json;

const char* to_string(NodeState state) {
  switch (state) {
    case NodeState::idle: return "idle";
    case NodeState::running: return "running";
    case NodeState::preparing: return "preparing";
    case NodeState::leaving: return "leaving";
    case NodeState::unusable: return "unusable";
  }
  return "unusable";
}

std::optional<NodeState> parse_node_state(std::string_view text) {
  using S = NodeState;
  for (S s : {S::idle, S::running, S::preparing, S::leaving, S::unusable}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

NodeState batchai_node_state(const slurm::NodeInfo& n) {
  using Slurm = slurm::NodeState;
  if (n.not_responding || n.state == Slurm::down || n.failing) return NodeState::unusable;
  if (n.drain) return n.state == Slurm::idle ? NodeState::unusable : NodeState::leaving;  // drained : draining
  if (n.completing) return NodeState::leaving;
  if (n.powering_up || n.preparing_job || n.state == Slurm::unknown || n.state == Slurm::future) {
    return NodeState::preparing;
  }
  if (n.state == Slurm::allocated || n.state == Slurm::mixed) return NodeState::running;
  if (n.state == Slurm::idle) return NodeState::idle;
  return NodeState::unusable;
}

std::vector<slurm::NodeInfo> cluster_nodes(const state::Cluster& c, const std::vector<slurm::NodeInfo>& all) {
  std::vector<slurm::NodeInfo> mine;
  for (const auto& n : all) {
    if (std::find(n.partitions.begin(), n.partitions.end(), c.partition) != n.partitions.end()) mine.push_back(n);
  }
  // node2 before node10, as Slurm orders a hostlist.
  std::sort(mine.begin(), mine.end(), [](const slurm::NodeInfo& a, const slurm::NodeInfo& b) {
    return a.name.size() != b.name.size() ? a.name.size() < b.name.size() : a.name < b.name;
  });
  const std::int64_t size = c.auto_scale ? c.max_nodes : c.target_nodes;
  if (static_cast<std::int64_t>(mine.size()) > size) mine.resize(static_cast<std::size_t>(std::max<std::int64_t>(size, 0)));
  return mine;
}

NodeStateCounts count_states(const std::vector<slurm::NodeInfo>& nodes) {
  NodeStateCounts c;
  for (const auto& n : nodes) {
    switch (batchai_node_state(n)) {
      case NodeState::idle: ++c.idle; break;
      case NodeState::running: ++c.running; break;
      case NodeState::preparing: ++c.preparing; break;
      case NodeState::leaving: ++c.leaving; break;
      case NodeState::unusable: ++c.unusable; break;
    }
  }
  return c;
}

std::string setup_output_suffix(const state::Cluster& c) {
  return c.key.group + "/workspaces/" + c.key.workspace + "/clusters/" + c.key.cluster + "/" + c.setup_uuid;
}

namespace {

// The stored nodeSetup.setupTask object, or null.
const json::object* stored_setup_task(const json::value& node_setup) {
  if (!node_setup.is_object()) return nullptr;
  const json::value* task = node_setup.as_object().if_contains("setupTask");
  return task && task->is_object() ? &task->as_object() : nullptr;
}

std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::value parsed_node_setup(const state::Cluster& c) {
  if (c.node_setup_json.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(c.node_setup_json, ec);
  return ec ? json::value(nullptr) : v;
}

}  // namespace

std::optional<slurm::SetupTask> setup_task_of(const state::Cluster& c) {
  const json::value node_setup = parsed_node_setup(c);
  const json::object* task = stored_setup_task(node_setup);
  if (!task) return std::nullopt;
  slurm::SetupTask t;
  t.command_line = text_of(*task, "commandLine");
  t.output_dir = text_of(*task, "stdOutErrPathPrefix") + "/" + setup_output_suffix(c) + "/stdouterr";
  if (const json::value* vars = task->if_contains("environmentVariables"); vars && vars->is_array()) {
    for (const auto& v : vars->as_array()) {
      if (!v.is_object()) continue;
      t.environment.push_back({text_of(v.as_object(), "name"), text_of(v.as_object(), "value"), false});
    }
  }
  return t;
}

std::optional<std::string> setup_output_dir(const state::Cluster& c, const std::string& mount_root) {
  auto task = setup_task_of(c);
  if (!task) return std::nullopt;
  std::string dir = task->output_dir;
  for (std::string_view name : {"${AZ_BATCHAI_MOUNT_ROOT}", "$AZ_BATCHAI_MOUNT_ROOT"}) {
    if (dir.starts_with(name)) {
      dir = mount_root + dir.substr(name.size());
      break;
    }
  }
  return dir;
}

json::object cluster_to_json(const state::Cluster& c, const std::vector<slurm::NodeInfo>& nodes) {
  const auto counts = count_states(nodes);
  json::object scale;
  if (c.auto_scale) {
    scale["autoScale"] = json::object{
        {"minimumNodeCount", c.min_nodes}, {"maximumNodeCount", c.max_nodes}, {"initialNodeCount", 0}};
  } else {
    scale["manual"] = json::object{{"targetNodeCount", c.target_nodes}, {"nodeDeallocationOption", "requeue"}};
  }
  // nodeSetup as az showed it, with the suffix Batch AI filled in; null
  // where the cluster has none.
  json::value node_setup = parsed_node_setup(c);
  if (node_setup.is_object()) {
    if (json::value* task = node_setup.as_object().if_contains("setupTask"); task && task->is_object()) {
      task->as_object()["stdOutErrPathSuffix"] = setup_output_suffix(c);
    }
  }
  return json::object{
      {"id", cluster_id(c.key)},
      {"name", c.key.cluster},
      {"type", "Microsoft.BatchAI/workspaces/clusters"},
      {"resourceGroup", c.key.group},
      {"workspace", c.key.workspace},
      {"vmSize", c.vm_size},
      {"vmPriority", state::to_string(c.vm_priority)},
      {"scaleSettings", std::move(scale)},
      {"nodeSetup", std::move(node_setup)},
      {"allocationState", "steady"},
      {"allocationStateTransitionTime", iso_time(c.created)},
      {"creationTime", iso_time(c.created)},
      {"provisioningState", "succeeded"},
      {"provisioningStateTransitionTime", iso_time(c.created)},
      {"currentNodeCount", static_cast<std::int64_t>(nodes.size())},
      {"nodeStateCounts",
       json::object{{"idleNodeCount", counts.idle},
                    {"runningNodeCount", counts.running},
                    {"preparingNodeCount", counts.preparing},
                    {"leavingNodeCount", counts.leaving},
                    {"unusableNodeCount", counts.unusable}}},
      {"errors", nullptr},
      {"partition", c.partition},
      {"gpusPerNode", c.gpus_per_node},
  };
}

json::object cluster_table_row(const state::Cluster& c, const std::vector<slurm::NodeInfo>& nodes) {
  const auto counts = count_states(nodes);
  return json::object{{"name", c.key.cluster}, {"resourceGroup", c.key.group}, {"workspace", c.key.workspace},
                      {"vmSize", c.vm_size},   {"state", "steady"},            {"idle", counts.idle},
                      {"running", counts.running}, {"preparing", counts.preparing}, {"leaving", counts.leaving},
                      {"unusable", counts.unusable}};
}

std::span<const Column> cluster_table_columns() {
  static constexpr Column kColumns[] = {
      {"Name", "name"},        {"Resource Group", "resourceGroup"}, {"Workspace", "workspace"},
      {"VM Size", "vmSize"},   {"State", "state"},                  {"Idle", "idle"},
      {"Running", "running"},  {"Preparing", "preparing"},          {"Leaving", "leaving"},
      {"Unusable", "unusable"}};
  return kColumns;
}

Status emit_clusters(Context& ctx, const std::vector<state::Cluster>& clusters, bool single) {
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto all = (*client)->nodes();
  if (!all) return all.error();
  json::array objects, rows;
  for (const auto& c : clusters) {
    const auto nodes = cluster_nodes(c, *all);
    objects.push_back(cluster_to_json(c, nodes));
    rows.push_back(cluster_table_row(c, nodes));
  }
  // A table has flat rows; JSON (and --query) the full objects.
  const json::array& chosen = ctx.format == OutputFormat::table ? rows : objects;
  if (single && !chosen.empty()) return emit(ctx, chosen[0], cluster_table_columns());
  return emit(ctx, chosen, cluster_table_columns());
}

Result<state::Cluster> find_cluster(const Context& ctx, const args::Parsed& p, state::Store& store,
                                    std::string_view flag) {
  auto ws = workspace_key(ctx, p, store);
  if (!ws) return ws.error();
  // Every table that names `flag` marks it required.
  const state::ClusterKey key{ws->group, ws->workspace, p.get(flag).value_or("")};
  auto c = store.cluster(key);
  if (!c) return c.error();
  if (!*c) {
    return Error{"cluster '" + key.cluster + "' not found in workspace '" + key.workspace + "' (resource group '" +
                 key.group + "')"};
  }
  return **c;
}

}  // namespace batchai::frontend
