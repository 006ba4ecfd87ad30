// batchai workspace show: one workspace, as az showed it.
#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    args::required({"name", 'n', "NAME", "workspace name"}),
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto name = resource_name(p, "name");
  if (!name) return name.error();
  auto store = open_store(ctx);
  if (!store) return store.error();
  auto group = resource_group(ctx, p, **store);
  if (!group) return group.error();
  const state::WorkspaceKey key{*group, *name};
  auto w = (*store)->workspace(key);
  if (!w) return w.error();
  if (!*w) return state::not_found(key);
  if (auto s = emit_workspaces(ctx, {&**w, 1}, false); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kWorkspaceShow = {"workspace show", "Show a workspace", kOptions, {}, run};

}  // namespace batchai::frontend
