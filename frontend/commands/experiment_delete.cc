// batchai experiment delete: terminate the experiment's running jobs, as
// Batch AI did, then remove it and its jobs from the state database. Jobs'
// directories on the shared filesystem stay: they hold the user's outputs.
#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {

Status terminate_jobs(Context& ctx, state::Store& store, const state::ExperimentKey& key) {
  auto jobs = store.jobs(key);
  if (!jobs) return jobs.error();
  for (auto j : *jobs) {
    if (is_final(j) || !j.slurm_job_id) continue;
    if (auto s = terminate_job(ctx, store, j, false); !s) return s;
  }
  return {};
}

namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required_unless({"name", 'n', "NAME", "experiment name"}, "ids"),
    kIdsOption,
    kYesOption,
    {"no-wait", 0, "", "accepted for az scripts; deletion is immediate here"},
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
  if (auto ok = confirm(p); !ok) return ok.error();
  for (const auto& key : keys) {
    if (auto s = terminate_jobs(ctx, **store, key); !s) return s.error();
    if (auto s = (*store)->delete_experiment(key); !s) return s.error();
  }
  return 0;
}

}  // namespace

extern const Command kExperimentDelete = {"experiment delete", "Delete an experiment with its jobs", kOptions, {}, run};

}  // namespace batchai::frontend
