// batchai workspace create: a named container for clusters and experiments,
// as in Batch AI. On Slurm it is a namespace in the state database; nothing
// is provisioned.
#include <ctime>

#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"
#include "base/diag.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    args::required({"name", 'n', "NAME", "workspace name"}),
    {"location", 'l', "LOCATION", "Azure region: accepted and shown, as az scripts pass it; no effect on Slurm"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto name = resource_name(p, "name");
  if (!name) return name.error();
  auto store = open_store(ctx);
  if (!store) return store.error();
  auto group = resource_group(ctx, p, **store);
  if (!group) return group.error();
  state::Workspace w{{*group, *name}, p.get("location").value_or(""), static_cast<std::int64_t>(std::time(nullptr))};
  if (!w.location.empty()) {
    diag::note("--location is kept for show and list but has no effect: a Slurm site has no Azure regions");
  }
  if (auto s = (*store)->create_workspace(w); !s) return s.error();
  if (auto s = emit_workspaces(ctx, {&w, 1}, false); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kWorkspaceCreate = {"workspace create", "Create a workspace", kOptions, {}, run};

}  // namespace batchai::frontend
