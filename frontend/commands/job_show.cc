// batchai job show: the Batch AI job object, brought up to date from Slurm
// or from the job's own record once Slurm has forgotten it.
#include "frontend/commands/job_attempts.h"
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
    kSlurmJobIdOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto ids = resource_ids(p, ResourceType::job);
  if (!ids) return ids.error();
  auto store = ctx.store();
  if (!store) return store.error();
  auto told = slurm_job_id_flag(p);
  if (!told) return told.error();
  std::vector<state::JobKey> keys;
  if (*ids) {
    if (*told && (*ids)->size() > 1) return Error{"--slurm-job-id: names one job; give one id with --ids"};
    for (const auto& id : **ids) keys.push_back({id.group, id.workspace, id.name, id.job});
  } else {
    auto key = job_key(ctx, p, **store, "name");
    if (!key) return key.error();
    keys.push_back(std::move(*key));
  }
  boost::json::array shown;
  for (const auto& key : keys) {
    auto job = load_job(ctx, **store, key, *told);
    if (!job) return job.error();
    if (ctx.format == OutputFormat::table) {
      shown.push_back(job_table_row(*job));
    } else {
      // The attempts are read here, not in job_to_json, so that job list
      // reads no more files per job than it did.
      auto one = job_to_json(*job);
      auto attempts = job_attempts(job->job_dir);
      one["restartCount"] = attempts.empty() ? 0 : attempts.size() - 1;
      one["attempts"] = std::move(attempts);
      shown.push_back(std::move(one));
    }
  }
  // Several ids show a list, as az does; one shows the object.
  const boost::json::value result = shown.size() == 1 ? shown[0] : boost::json::value(shown);
  if (auto s = emit(ctx, result, job_table_columns()); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kJobShow = {"job show", "Show a job: state, execution info, output segment", kOptions, {}, run};

}  // namespace batchai::frontend
