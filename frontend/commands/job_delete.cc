// batchai job delete: terminate the job if it runs, then forget it. Its
// directory and outputs stay where they are: they are the user's files.
#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {

namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required_unless({"experiment", 'e', "NAME", "the job's experiment"}, "ids"),
    args::required_unless({"name", 'n', "NAME", "job name"}, "ids"),
    kIdsOption,
    kYesOption,
    {"no-wait", 0, "", "accepted for compatibility"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto ids = resource_ids(p, ResourceType::job);
  if (!ids) return ids.error();
  auto store = ctx.store();
  if (!store) return store.error();
  std::vector<state::JobKey> keys;
  if (*ids) {
    for (const auto& id : **ids) keys.push_back({id.group, id.workspace, id.name, id.job});
  } else {
    auto key = job_key(ctx, p, **store, "name");
    if (!key) return key.error();
    keys.push_back(std::move(*key));
  }
  // Every job is found before any is touched, and one question covers all.
  std::vector<state::Job> jobs;
  for (const auto& key : keys) {
    auto job = load_job(ctx, **store, key);
    if (!job) return job.error();
    jobs.push_back(std::move(*job));
  }
  if (auto ok = confirm(p); !ok) return ok.error();
  for (auto& job : jobs) {
    if (auto s = terminate_job(ctx, **store, job, false); !s) return s.error();
    if (auto s = (*store)->delete_job(job.key); !s) return s.error();
  }
  return 0;
}

}  // namespace

extern const Command kJobDelete = {"job delete", "Delete a job (terminating it if it runs)", kOptions, {}, run};

}  // namespace batchai::frontend
