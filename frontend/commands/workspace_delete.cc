// batchai workspace delete: terminate the running jobs of its experiments,
// then remove the workspace and everything it holds (experiments, their
// jobs, clusters) from the state database. Jobs' directories on the shared
// filesystem stay: they hold the user's outputs.
#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    args::required_unless({"name", 'n', "NAME", "workspace name"}, "ids"),
    kIdsOption,
    kYesOption,
    {"no-wait", 0, "", "accepted for az scripts; deletion is immediate here"},
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
  // One question for all of them.
  if (auto ok = confirm(p); !ok) return ok.error();
  for (const auto& key : keys) {
    if (auto s = delete_workspace_and_jobs(ctx, **store, key); !s) return s.error();
  }
  return 0;
}

}  // namespace

Status delete_workspace_and_jobs(Context& ctx, state::Store& store, const state::WorkspaceKey& key) {
  // Its experiments' running jobs are terminated first, as Batch AI did.
  auto experiments = store.experiments(key);
  if (!experiments) return experiments.error();
  for (const auto& e : *experiments) {
    if (auto s = terminate_jobs(ctx, store, e.key); !s) return s.error();
  }
  return store.delete_workspace(key);
}

extern const Command kWorkspaceDelete = {
    "workspace delete", "Delete a workspace with its experiments, jobs and clusters", kOptions, {}, run};

}  // namespace batchai::frontend
