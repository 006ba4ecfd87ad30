// batchai cluster node list: the cluster's nodes and their states. Batch AI
// listed SSH endpoints; on Slurm a node is reached with cluster node exec.
#include <boost/json.hpp>

#include "frontend/commands/cluster_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"cluster", 'c', "NAME", "cluster name"}),
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto c = find_cluster(ctx, p, **store, "cluster");
  if (!c) return c.error();
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto all = (*client)->nodes();
  if (!all) return all.error();
  boost::json::array nodes;
  for (const auto& n : cluster_nodes(*c, *all)) {
    nodes.push_back(boost::json::object{{"nodeId", n.name},
                                        {"state", to_string(batchai_node_state(n))},
                                        {"slurmState", slurm::to_string(n.state)},
                                        {"cpus", n.cpus},
                                        {"gres", n.gres},
                                        {"reason", n.reason}});
  }
  static constexpr Column kColumns[] = {{"Node", "nodeId"}, {"State", "state"}, {"Slurm state", "slurmState"},
                                        {"CPUs", "cpus"},   {"GRES", "gres"},   {"Reason", "reason"}};
  if (auto s = emit(ctx, nodes, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterNodeList = {"cluster node list", "List a cluster's nodes and their states", kOptions,
                                         {}, run};

}  // namespace batchai::frontend
