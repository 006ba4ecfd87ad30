// batchai experiment create: a named group of jobs inside a workspace, as
// in Batch AI; job names are unique within it.
#include <ctime>

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
  state::Experiment e{{ws->group, ws->workspace, *name}, static_cast<std::int64_t>(std::time(nullptr))};
  if (auto s = (*store)->create_experiment(e); !s) return s.error();
  if (auto s = emit_experiments(ctx, {&e, 1}, false); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kExperimentCreate = {
    "experiment create", "Create an experiment in a workspace", kOptions, {}, run};

}  // namespace batchai::frontend
