// batchai job show: the Batch AI job object, brought up to date from Slurm
// or from the job's own record once Slurm has forgotten it.
#include "frontend/commands/job_attempts.h"
#include "frontend/commands/job_common.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"name", 'n', "NAME", "job name"}),
    kSlurmJobIdOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = job_key(ctx, p, **store, "name");
  if (!key) return key.error();
  auto told = slurm_job_id_flag(p);
  if (!told) return told.error();
  auto job = load_job(ctx, **store, *key, *told);
  if (!job) return job.error();
  if (ctx.format == OutputFormat::table) {
    if (auto s = emit(ctx, job_table_row(*job), job_table_columns()); !s) return s.error();
  } else {
    // The attempts are read here, not in job_to_json, so that job list
    // reads no more files per job than it did.
    auto shown = job_to_json(*job);
    auto attempts = job_attempts(job->job_dir);
    shown["restartCount"] = attempts.empty() ? 0 : attempts.size() - 1;
    shown["attempts"] = std::move(attempts);
    if (auto s = emit(ctx, shown, job_table_columns()); !s) return s.error();
  }
  return 0;
}

}  // namespace

extern const Command kJobShow = {"job show", "Show a job: state, execution info, output segment", kOptions, {}, run};

}  // namespace batchai::frontend
