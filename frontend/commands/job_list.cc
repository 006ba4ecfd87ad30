// batchai job list: the experiment's jobs, each brought up to date.
#include <boost/json.hpp>

#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto ws = workspace_key(ctx, p, **store);
  if (!ws) return ws.error();
  auto experiment = p.get("experiment");  // required
  auto jobs = (*store)->jobs({ws->group, ws->workspace, *experiment});
  if (!jobs) return jobs.error();
  boost::json::array out;
  for (const auto& j : *jobs) {
    auto job = load_job(ctx, **store, j.key);
    if (!job) return job.error();
    out.push_back(ctx.format == OutputFormat::table ? boost::json::value(job_table_row(*job))
                                                     : boost::json::value(job_to_json(*job)));
  }
  if (auto s = emit(ctx, out, job_table_columns()); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kJobList = {"job list", "List an experiment's jobs", kOptions, {}, run};

}  // namespace batchai::frontend
