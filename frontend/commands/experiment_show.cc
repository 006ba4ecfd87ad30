// batchai experiment show: one experiment, as az showed it.
#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required_unless({"name", 'n', "NAME", "experiment name"}, "ids"),
    kIdsOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto ids = resource_ids(p, ResourceType::experiment);
  if (!ids) return ids.error();
  auto store = open_store(ctx);
  if (!store) return store.error();
  std::vector<state::ExperimentKey> keys;
  if (*ids) {
    for (const auto& id : **ids) keys.push_back({id.group, id.workspace, id.name});
  } else {
    auto name = resource_name(p, "name");
    if (!name) return name.error();
    auto ws = workspace_key(ctx, p, **store);
    if (!ws) return ws.error();
    keys.push_back({ws->group, ws->workspace, *name});
  }
  std::vector<state::Experiment> found;
  for (const auto& key : keys) {
    auto e = (*store)->experiment(key);
    if (!e) return e.error();
    if (!*e) {
      // Name the missing workspace rather than its experiment, if that is
      // what is missing.
      const state::WorkspaceKey ws{key.group, key.workspace};
      auto w = (*store)->workspace(ws);
      if (!w) return w.error();
      if (!*w) return state::not_found(ws);
      return state::not_found(key);
    }
    found.push_back(std::move(**e));
  }
  if (auto s = emit_experiments(ctx, found, found.size() > 1); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kExperimentShow = {"experiment show", "Show an experiment", kOptions, {}, run};

}  // namespace batchai::frontend
