// batchai cluster list: the workspace's clusters, with live node states.
#include "frontend/commands/cluster_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto ws = workspace_key(ctx, p, **store);
  if (!ws) return ws.error();
  auto clusters = (*store)->clusters(*ws);
  if (!clusters) return clusters.error();
  if (auto s = emit_clusters(ctx, *clusters, false); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterList = {"cluster list", "List the clusters of a workspace", kOptions, {}, run};

}  // namespace batchai::frontend
