// batchai cluster show: the cluster, with its nodes' live states from Slurm.
#include "frontend/commands/cluster_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required_unless({"name", 'n', "NAME", "cluster name"}, "ids"),
    kIdsOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto ids = resource_ids(p, ResourceType::cluster);
  if (!ids) return ids.error();
  auto store = ctx.store();
  if (!store) return store.error();
  std::vector<state::Cluster> found;
  if (*ids) {
    for (const auto& id : **ids) {
      const state::ClusterKey key{id.group, id.workspace, id.name};
      auto c = (*store)->cluster(key);
      if (!c) return c.error();
      if (!*c) return state::not_found(key);
      found.push_back(std::move(**c));
    }
  } else {
    auto c = find_cluster(ctx, p, **store, "name");
    if (!c) return c.error();
    found.push_back(std::move(*c));
  }
  // Several ids show a list, as az does; one shows the object.
  if (auto s = emit_clusters(ctx, found, found.size() == 1); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterShow = {"cluster show", "Show a cluster and its node states", kOptions, {}, run};

}  // namespace batchai::frontend
