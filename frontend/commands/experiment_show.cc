// batchai experiment show: one experiment, as az showed it.
#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"name", 'n', "NAME", "experiment name"}),
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto name = resource_name(p, "name");
  if (!name) return name.error();
  auto store = open_store(ctx);
  if (!store) return store.error();
  auto ws = workspace_key(ctx, p, **store);
  if (!ws) return ws.error();
  auto e = (*store)->experiment({ws->group, ws->workspace, *name});
  if (!e) return e.error();
  if (!*e) {
    // Name the missing workspace rather than its experiment, if that is
    // what is missing.
    auto w = (*store)->workspace(*ws);
    if (!w) return w.error();
    if (!*w) return state::not_found(*ws);
    return state::not_found(state::ExperimentKey{ws->group, ws->workspace, *name});
  }
  if (auto s = emit_experiments(ctx, {&**e, 1}, false); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kExperimentShow = {"experiment show", "Show an experiment", kOptions, {}, run};

}  // namespace batchai::frontend
