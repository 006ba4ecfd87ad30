// batchai job export: job create's translation for a site that keeps its
// own sbatch workflow. The job is checked, planned and recorded as job
// create would submit it, and its directory written (job.json, the 0600
// secrets file, the script); then, instead of submitting, it prints the
// sbatch command that does. The script carries its allocation as #SBATCH
// lines, so plain sbatch submits the same job. job show and job wait follow
// it once told its Slurm id (--slurm-job-id), or once its script has
// recorded the id in the job directory.
#include <boost/json.hpp>
#include <vector>

#include "frontend/commands/job_common.h"
#include "frontend/commands/job_draft.h"
#include "frontend/output.h"
#include "base/diag.h"
#include "slurm/job_plan.h"
#include "slurm/shell_quote.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {BATCHAI_JOB_DRAFT_OPTIONS};

// A path as one shell word: bare where nothing in it is special to the
// shell, so the usual command reads as the user would type it.
std::string shell_word(const std::string& path) {
  for (char c : path) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                       c == '.' || c == '_' || c == '-' || c == '+' || c == ',' || c == ':' || c == '=';
    if (!plain) return slurm::shell_quote(path);
  }
  return path;
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto draft = draft_job(ctx, p, **store, false);
  if (!draft) return draft.error();
  auto job = record_job(**store, *draft, slurm::render_script(draft->plan), true);
  if (!job) return job.error();

  // A cluster resized to 0 holds its jobs; cluster resize releases them
  // once batchai knows their ids, as for job create.
  const std::string command =
      std::string("sbatch ") + (draft->hold ? "--hold " : "") + shell_word(job->job_dir + "/job.sbatch");
  diag::note("job '" + job->key.job + "' is written, not submitted; submit it with: " + command);
  diag::note("then follow it with: batchai job wait -g " + job->key.group + " -w " + job->key.workspace + " -e " +
             job->key.experiment + " -n " + job->key.job + " --slurm-job-id ID");

  boost::json::object o = ctx.format == OutputFormat::table ? job_table_row(*job) : job_to_json(*job);
  o["sbatchCommand"] = command;
  std::vector<Column> columns(job_table_columns().begin(), job_table_columns().end());
  columns.push_back({"Sbatch command", "sbatchCommand"});
  if (auto s = emit(ctx, o, columns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kJobExport = {
    "job export", "Write a job and its sbatch script without submitting it; print the sbatch command", kOptions, {},
    run};

}  // namespace batchai::frontend
