// batchai job file list: the files of a job's stdouterr or output
// directory, with type, size and modification time.
#include <boost/json.hpp>

#include "frontend/commands/job_common.h"
#include "frontend/commands/job_files.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"job", 'j', "NAME", "job name"}),
    {"output-directory-id", 'd', "ID", "stdouterr (default) or an outputDirectories id"},
    {"path", 'p', "PATH", "directory inside it (default: .)"},
    {"expiry", 0, "MINUTES", "accepted for compatibility: files are read where they are, no links expire"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = job_key(ctx, p, **store, "job");
  if (!key) return key.error();
  auto job = load_job(ctx, **store, *key);
  if (!job) return job.error();
  auto dir = job_output_directory(*job, p.get("output-directory-id").value_or("stdouterr"), p.get("path").value_or("."));
  if (!dir) return dir.error();
  boost::json::array files;
  if (*dir) {
    for (const auto& f : list_directory(**dir)) {
      files.push_back(boost::json::object{
          {"name", f.name + (f.is_directory ? "/" : "")},
          {"fileType", f.is_directory ? "directory" : "file"},
          {"downloadUrl", f.is_directory ? boost::json::value(nullptr) : boost::json::value("file://" + f.path)},
          {"contentLength", f.size},
          {"lastModified", iso_time(f.modified)},
      });
    }
  }
  static constexpr Column kColumns[] = {
      {"Name", "name"}, {"Type", "fileType"}, {"Size", "contentLength"}, {"Modified", "lastModified"}};
  if (auto s = emit(ctx, files, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kJobFileList = {"job file list", "List a job's output files", kOptions, {}, run};

}  // namespace batchai::frontend
