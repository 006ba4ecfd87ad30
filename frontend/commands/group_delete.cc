// batchai group delete: the tutorial's clean-up, `az group delete`. Every
// workspace of the group goes, as `workspace delete` removes one: running
// jobs are terminated first. Files stay: the jobs' directories and the
// storage shares hold the user's results (`storage share delete` removes a
// share).
#include <boost/json.hpp>

#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"
#include "io/job_spec.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    args::required({"name", 'n', "NAME", "the resource group"}),
    kYesOption,
    {"no-wait", 0, "", "accepted for az scripts; deletion is immediate here"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto name = p.get("name");  // required
  if (auto ok = jobspec::validate_resource_group_name(*name, "--name"); !ok) return ok.error();
  auto store = open_store(ctx);
  if (!store) return store.error();
  auto workspaces = (*store)->workspaces(*name);
  if (!workspaces) return workspaces.error();
  if (workspaces->empty()) return Error{"--name: no resource group \"" + *name + "\" (it has no workspaces)"};
  if (auto ok = confirm(p); !ok) return ok.error();
  for (const auto& w : *workspaces) {
    if (auto s = delete_workspace_and_jobs(ctx, **store, w.key); !s) return s.error();
  }
  return 0;
}

}  // namespace

extern const Command kGroupDelete = {
    "group delete", "Delete a resource group: its workspaces, experiments, clusters and jobs (az group delete)",
    kOptions, {}, run};

}  // namespace batchai::frontend
