// batchai slurm wait: block until a job ends; exit with its exit code, the
// way `az batchai job wait` did.
#include "frontend/commands/slurm_common.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    {"interval", 0, "SECONDS", "seconds between polls (default 1)"},
    {"timeout", 0, "SECONDS", "give up after this many seconds (default: wait forever)"},
};
constexpr args::Positional kPositionals[] = {{"JOBID", "Slurm job id"}};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto id = parse_job_id(p.positionals()[0]);
  if (!id) return id.error();
  auto interval = p.get_int("interval", 1, 3600);
  if (!interval) return interval.error();
  auto timeout = p.get_int("timeout", 1, INT32_MAX);
  if (!timeout) return timeout.error();
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto job = wait_for_job(ctx, **client, *id, std::chrono::seconds(interval->value_or(1)),
                          std::chrono::seconds(timeout->value_or(0)));
  if (!job) return job.error();
  if (auto s = emit(ctx, to_json(*job), job_columns()); !s) return s.error();
  return exit_status_of(*job);
}

}  // namespace

extern const Command kSlurmWait = {"slurm wait", "Wait for a Slurm job to end and exit with its exit code (plumbing)",
                                   kOptions, kPositionals, run};

}  // namespace batchai::frontend
