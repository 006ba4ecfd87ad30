// batchai workspace list: the workspaces of a resource group, or of every
// group when none is given or set as a default (az applied a configured
// default group here too).
#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    {"resource-group", 'g', "NAME", "only this resource group (default: the default group if set, else all)"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = open_store(ctx);
  if (!store) return store.error();
  auto group = resource_group_if_set(ctx, p, **store);
  if (!group) return group.error();
  auto all = (*store)->workspaces(*group);
  if (!all) return all.error();
  if (auto s = emit_workspaces(ctx, *all, true); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kWorkspaceList = {"workspace list", "List workspaces", kOptions, {}, run};

}  // namespace batchai::frontend
