// batchai job terminate: cancel the job. It shows terminating until Slurm
// has stopped it, then failed, as in Batch AI.
#include <ctime>

#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {

namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"name", 'n', "NAME", "job name"}),
    kYesOption,
    {"no-wait", 0, "", "return at once instead of waiting for the job to stop"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = job_key(ctx, p, **store, "name");
  if (!key) return key.error();
  auto job = load_job(ctx, **store, *key);
  if (!job) return job.error();
  if (job->exported && !job->slurm_job_id) {
    // Its sbatch may have queued it: saying "terminated" could be untrue.
    return Error{"job '" + key->job + "' was exported and batchai knows no Slurm id for it; if it was submitted, " +
                 "give the id with batchai job show --slurm-job-id ID first, or cancel it with scancel"};
  }
  if (auto ok = confirm(p); !ok) return ok.error();
  if (auto s = terminate_job(ctx, **store, *job, !p.has("no-wait")); !s) return s.error();
  return 0;
}

}  // namespace

// Shared with job delete and experiment delete.
Status terminate_job(Context& ctx, state::Store& store, state::Job& job, bool wait) {
  if (is_final(job) || !job.slurm_job_id) return {};
  auto client = ctx.slurm();
  if (!client) return client.error();
  if (auto s = (*client)->cancel(*job.slurm_job_id); !s) return s;
  job.state = state::ExecutionState::terminating;
  job.state_time = std::time(nullptr);
  if (auto s = store.update_job(job); !s) return s;
  while (wait && !is_final(job)) {
    ctx.sleep(std::chrono::milliseconds(500));
    auto again = load_job(ctx, store, job.key);
    if (!again) return again.error();
    job = *again;
  }
  return {};
}

extern const Command kJobTerminate = {"job terminate", "Stop a running job", kOptions, {}, run};

}  // namespace batchai::frontend
