// batchai cluster delete: forget the binding. The partition and its nodes
// are the site's; jobs already submitted run on.
#include "frontend/commands/cluster_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required_unless({"name", 'n', "NAME", "cluster name"}, "ids"),
    kIdsOption,
    kYesOption,
    {"no-wait", 0, "", "accepted for compatibility: deleting is immediate"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto ids = resource_ids(p, ResourceType::cluster);
  if (!ids) return ids.error();
  auto store = ctx.store();
  if (!store) return store.error();
  std::vector<state::ClusterKey> keys;
  if (*ids) {
    for (const auto& id : **ids) keys.push_back({id.group, id.workspace, id.name});
  } else {
    auto ws = workspace_key(ctx, p, **store);
    if (!ws) return ws.error();
    keys.push_back({ws->group, ws->workspace, p.get("name").value_or("")});
  }
  if (auto ok = confirm(p); !ok) return ok.error();
  for (const auto& key : keys) {
    if (auto s = (*store)->delete_cluster(key); !s) return s.error();
  }
  return 0;
}

}  // namespace

extern const Command kClusterDelete = {"cluster delete", "Delete a cluster binding", kOptions, {}, run};

}  // namespace batchai::frontend
