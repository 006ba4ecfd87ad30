// batchai slurm cancel: end a job and all of its steps.
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
  if (!*job) return Error{"job " + std::to_string(*id) + " is not known to Slurm"};
  if (auto s = (*client)->cancel(*id); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kSlurmCancel = {"slurm cancel", "Cancel a Slurm job (plumbing)", {}, kPositionals, run};

}  // namespace batchai::frontend
