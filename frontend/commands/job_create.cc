// batchai job create: a Batch AI job.json, checked, translated to an sbatch
// script, recorded and submitted through libslurm. --dry-run prints the
// script (with secrets masked) and records and submits nothing.
#include "frontend/commands/job_common.h"
#include "frontend/commands/job_draft.h"
#include "frontend/output.h"
#include "base/diag.h"
#include "slurm/job_plan.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_JOB_DRAFT_OPTIONS,
    {"dry-run", 0, "", "print the sbatch script, secrets masked; write and submit nothing"},
    {"no-wait", 0, "", "submit the same and print nothing, as az did"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const bool dry_run = p.has("dry-run");
  // Submitting needs libslurm, whose set-up shares nothing with the
  // database and the plan: begun now, it is ready by the time they are.
  if (!dry_run && ctx.warm_slurm) ctx.warm_slurm();
  auto store = ctx.store();
  if (!store) return store.error();
  auto draft = draft_job(ctx, p, **store, dry_run);
  if (!draft) return draft.error();
  auto request = slurm::submission(draft->plan, slurm::render_script(draft->plan), ctx.environment);
  request.hold = draft->hold;
  if (dry_run) {
    *ctx.out << slurm::dry_run_text(draft->plan, request);
    return 0;
  }
  auto job = record_job(**store, *draft, request.script, false);
  if (!job) return job.error();
  // A job that cannot be submitted leaves no record and no directory.
  auto client = ctx.slurm();
  if (!client) return discard_job(**store, *job, client.error());
  auto id = (*client)->submit(request);
  if (!id) return discard_job(**store, *job, id.error());
  job->slurm_job_id = *id;
  // Also writes the job's batchai.json, once, now that it has its id.
  if (auto s = (*store)->update_job(*job); !s) return s.error();
  diag::info("job '" + job->key.job + "' is Slurm job " + std::to_string(*id) + " in partition '" +
             draft->plan.partition + "' (" + std::to_string(draft->plan.nodes) + " node(s)); its directory is " +
             job->job_dir);
  if (draft->hold) {
    diag::note("cluster '" + draft->cluster.cluster + "' has no nodes (target 0): the job waits until it is resized");
  }
  if (p.has("no-wait")) return 0;
  if (ctx.format == OutputFormat::table) {
    if (auto s = emit(ctx, job_table_row(*job), job_table_columns()); !s) return s.error();
  } else {
    if (auto s = emit(ctx, job_to_json(*job), job_table_columns()); !s) return s.error();
  }
  return 0;
}

}  // namespace

extern const Command kJobCreate = {"job create", "Submit a Batch AI job.json to Slurm", kOptions, {}, run};

}  // namespace batchai::frontend
