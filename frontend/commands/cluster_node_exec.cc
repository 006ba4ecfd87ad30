// batchai cluster node exec: run a command on one of the cluster's nodes.
// Batch AI used SSH to the node; here it is a one-task Slurm job on that
// node, so it waits while the node is busy with an exclusive job.
#include <algorithm>

#include "frontend/commands/cluster_common.h"
#include "frontend/commands/resource_args.h"
#include "frontend/commands/srun.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"cluster", 'c', "NAME", "cluster name"}),
    {"node-id", 'n', "NODE", "node (default: the cluster's first)"},
    args::required({"exec", 0, "COMMAND", "command to run, in a login shell"}),
    {"address", 'L', "SPEC", "port forwarding; not available on Slurm (use ssh to the node where the site allows)"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  if (p.has("address")) return Error{"-L: port forwarding needs SSH to the node, which batchai does not use"};
  auto command = p.get("exec");  // required
  auto store = ctx.store();
  if (!store) return store.error();
  auto c = find_cluster(ctx, p, **store, "cluster");
  if (!c) return c.error();
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto all = (*client)->nodes();
  if (!all) return all.error();
  const auto nodes = cluster_nodes(*c, *all);
  std::string node = p.get("node-id").value_or("");
  if (node.empty()) {
    if (nodes.empty()) return Error{"--cluster: cluster '" + c->key.cluster + "' has no nodes (target 0?)"};
    node = nodes.front().name;
  } else if (std::none_of(nodes.begin(), nodes.end(), [&](const auto& n) { return n.name == node; })) {
    return Error{"--node-id: '" + node + "' is not a node of cluster '" + c->key.cluster + "'"};
  }
  return run_srun(ctx, {"--partition=" + c->partition, "--nodelist=" + node, "--nodes=1", "--ntasks=1",
                        "--job-name=batchai-node-exec", "--quiet", "bash", "-lc", *command});
}

}  // namespace

extern const Command kClusterNodeExec = {"cluster node exec", "Run a command on a cluster node", kOptions, {}, run};

}  // namespace batchai::frontend
