// batchai workspace delete: the workspace and everything it holds
// (experiments, their jobs, clusters), from the state database. Jobs'
// directories on the shared filesystem stay, and Slurm jobs are not
// cancelled here.
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    {"name", 'n', "NAME", "workspace name (required)"},
    kYesOption,
    {"no-wait", 0, "", "accepted for az scripts; deletion is immediate here"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto name = required_name(p, "name", "the workspace's name");
  if (!name) return name.error();
  auto store = open_store(ctx);
  if (!store) return store.error();
  auto group = resource_group(ctx, p, **store);
  if (!group) return group.error();
  if (auto ok = confirm(p); !ok) return ok.error();
  if (auto s = (*store)->delete_workspace({*group, *name}); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kWorkspaceDelete = {
    "workspace delete", "Delete a workspace with its experiments, jobs and clusters", kOptions, {}, run};

}  // namespace batchai::frontend
