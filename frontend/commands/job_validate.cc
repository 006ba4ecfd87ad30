// batchai job validate: check a job.json without submitting it. Prints every
// problem (each naming its JSON path) or "valid"; unknown keys are warnings,
// or errors with --strict.
#include <boost/json.hpp>

#include "frontend/cli.h"
#include "frontend/output.h"
#include "io/diag.h"
#include "io/files.h"
#include "io/job_spec.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    {"config-file", 'f', "FILE", "the job.json to check (required)"},
    {"strict", 0, "", "treat unknown keys as errors (Batch AI ignored them)"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto file = p.get("config-file");
  if (!file) return Error{"--config-file: required (the job.json to validate)"};
  auto text = read_text_file(*file, "--config-file");
  if (!text) return text.error();

  jobspec::ParseOptions options;
  options.file_name = *file;
  options.strict = p.has("strict");
  auto parsed = jobspec::parse_job_spec(*text, options);
  if (!parsed) return parsed.error();
  for (const auto& w : parsed->warnings) diag::warning(w);
  const auto& spec = parsed->spec;
  if (ctx.format == OutputFormat::json) {
    *ctx.out << "valid\n";
  } else {
    static constexpr Column kColumns[] = {{"File", "file"}, {"Tool", "toolType"}, {"Nodes", "nodeCount"}};
    emit(ctx, boost::json::object{{"file", *file}, {"toolType", spec.tool_type()}, {"nodeCount", spec.node_count}},
         kColumns);
  }
  return 0;
}

}  // namespace

extern const Command kJobValidate = {"job validate", "Check a job.json against the Batch AI 2018-05-01 format (job create --dry-run also checks it against this site)",
                                     kOptions, {}, run};

}  // namespace batchai::frontend
