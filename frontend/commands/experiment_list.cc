// batchai experiment list: the experiments of a workspace.
#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {kResourceGroupOption, kWorkspaceOption};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = open_store(ctx);
  if (!store) return store.error();
  auto ws = workspace_key(ctx, p, **store);
  if (!ws) return ws.error();
  auto all = (*store)->experiments(*ws);
  if (!all) return all.error();
  if (auto s = emit_experiments(ctx, *all, true); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kExperimentList = {"experiment list", "List the experiments of a workspace", kOptions, {}, run};

}  // namespace batchai::frontend
