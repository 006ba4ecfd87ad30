// batchai slurm show: one job as Slurm sees it.
#include "frontend/commands/slurm_common.h"

namespace batchai::frontend {
namespace {

constexpr args::Positional kPositionals[] = {{"JOBID", "Slurm job id"}};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto id = parse_job_id(p.positionals()[0]);
  if (!id) return id.error();
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto job = (*client)->job(*id);
  if (!job) return job.error();
  if (!*job) {
    return Error{"job " + std::to_string(*id) +
                 " is not known to Slurm (it never existed, or ended longer ago than the controller's MinJobAge)"};
  }
  if (auto s = emit(ctx, to_json(**job), job_columns()); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kSlurmShow = {"slurm show", "Show a Slurm job: state, exit code, nodes, times (plumbing)", {},
                                   kPositionals, run};

}  // namespace batchai::frontend
