// batchai cluster delete: forget the binding. The partition and its nodes
// are the site's; jobs already submitted run on.
#include "frontend/commands/cluster_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"name", 'n', "NAME", "cluster name"}),
    kYesOption,
    {"no-wait", 0, "", "accepted for compatibility: deleting is immediate"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto ws = workspace_key(ctx, p, **store);
  if (!ws) return ws.error();
  const std::string name = *p.get("name");  // required
  if (auto ok = confirm(p); !ok) return ok.error();
  if (auto s = (*store)->delete_cluster({ws->group, ws->workspace, name}); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterDelete = {"cluster delete", "Delete a cluster binding", kOptions, {}, run};

}  // namespace batchai::frontend
