// batchai job delete: terminate the job if it runs, then forget it. Its
// directory and outputs stay where they are: they are the user's files.
#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {

namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"name", 'n', "NAME", "job name"}),
    kYesOption,
    {"no-wait", 0, "", "accepted for compatibility"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = job_key(ctx, p, **store, "name");
  if (!key) return key.error();
  auto job = load_job(ctx, **store, *key);
  if (!job) return job.error();
  if (auto ok = confirm(p); !ok) return ok.error();
  if (auto s = terminate_job(ctx, **store, *job, false); !s) return s.error();
  if (auto s = (*store)->delete_job(*key); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kJobDelete = {"job delete", "Delete a job (terminating it if it runs)", kOptions, {}, run};

}  // namespace batchai::frontend
