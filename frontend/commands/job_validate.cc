// batchai job validate: check a job.json without submitting it. Prints every
// problem (each naming its JSON path) or "valid"; unknown keys are warnings,
// or errors with --strict. Beyond the format, it reports what job create
// would refuse on any site (a path escaping its root, a reserved variable);
// what depends on the site (its shares, its limits) is job create's.
#include <boost/json.hpp>

#include "frontend/cli.h"
#include "frontend/output.h"
#include "base/diag.h"
#include "base/files.h"
#include "io/job_spec.h"
#include "slurm/job_plan.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    args::required({"config-file", 'f', "FILE", "the job.json to check"}),
    {"strict", 0, "", "treat unknown keys as errors (Batch AI ignored them)"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto file = p.get("config-file");  // required
  auto text = read_text_file(*file, "--config-file");
  if (!text) return text.error();

  jobspec::ParseOptions options;
  options.file_name = *file;
  options.strict = p.has("strict");
  auto parsed = jobspec::parse_job_spec(*text, options);
  if (!parsed) return parsed.error();
  for (const auto& w : parsed->warnings) diag::warning(w);
  // What job create would refuse on any site, the placeholders filled with
  // stand-ins: validate has no account to fill them with, and needs none.
  auto filled = jobspec::replace_storage_placeholders(parsed->spec, {"account", "key"}, *file);
  if (!filled) return filled.error();
  if (auto ok = slurm::check_job_anywhere(*filled, *file); !ok) return ok.error();
  const auto& spec = parsed->spec;
  if (ctx.format == OutputFormat::none) {
    // The exit status says it.
  } else if (ctx.format != OutputFormat::table && ctx.format != OutputFormat::tsv) {
    *ctx.out << "valid\n";
  } else {
    static constexpr Column kColumns[] = {{"File", "file"}, {"Tool", "toolType"}, {"Nodes", "nodeCount"}};
    const boost::json::object row{{"file", *file}, {"toolType", spec.tool_type()}, {"nodeCount", spec.node_count}};
    if (auto s = emit(ctx, row, kColumns); !s) return s.error();
  }
  return 0;
}

}  // namespace

extern const Command kJobValidate = {"job validate", "Check a job.json: the Batch AI 2018-05-01 format, and what no site would run (--dry-run on job create checks it against this site)",
                                     kOptions, {}, run};

}  // namespace batchai::frontend
