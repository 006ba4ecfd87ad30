// batchai workspace show: one workspace, as az showed it.
#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    args::required_unless({"name", 'n', "NAME", "workspace name"}, "ids"),
    kIdsOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto ids = resource_ids(p, ResourceType::workspace);
  if (!ids) return ids.error();
  auto store = open_store(ctx);
  if (!store) return store.error();
  std::vector<state::WorkspaceKey> keys;
  if (*ids) {
    for (const auto& id : **ids) keys.push_back({id.group, id.workspace});
  } else {
    auto name = resource_name(p, "name");
    if (!name) return name.error();
    auto group = resource_group(ctx, p, **store);
    if (!group) return group.error();
    keys.push_back({*group, *name});
  }
  std::vector<state::Workspace> found;
  for (const auto& key : keys) {
    auto w = (*store)->workspace(key);
    if (!w) return w.error();
    if (!*w) return state::not_found(key);
    found.push_back(std::move(**w));
  }
  // Several ids show a list, as az does; one shows the object.
  if (auto s = emit_workspaces(ctx, found, found.size() > 1); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kWorkspaceShow = {"workspace show", "Show a workspace", kOptions, {}, run};

}  // namespace batchai::frontend
