// batchai cluster show: the cluster, with its nodes' live states from Slurm.
#include "frontend/commands/cluster_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"name", 'n', "NAME", "cluster name"}),
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto c = find_cluster(ctx, p, **store, "name");
  if (!c) return c.error();
  if (auto s = emit_clusters(ctx, {*c}, true); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterShow = {"cluster show", "Show a cluster and its node states", kOptions, {}, run};

}  // namespace batchai::frontend
