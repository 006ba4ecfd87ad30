// batchai job file list: the files of a job's stdouterr or output
// directory, with type, size and modification time.
#include <boost/json.hpp>
#include <filesystem>
#include <algorithm>

#include "frontend/commands/job_common.h"
#include "frontend/commands/job_files.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;

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
  std::error_code ec;
  if (*dir && fs::is_directory(**dir, ec)) {
    std::vector<fs::directory_entry> entries;
    for (const auto& e : fs::directory_iterator(**dir, ec)) entries.push_back(e);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const auto& e : entries) {
      const bool is_dir = e.is_directory(ec);
      const auto size = is_dir ? 0 : e.file_size(ec);
      const auto mtime = fs::last_write_time(e.path(), ec);
      const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
          mtime - fs::file_time_type::clock::now() + std::chrono::system_clock::now().time_since_epoch());
      files.push_back(boost::json::object{
          {"name", e.path().filename().string() + (is_dir ? "/" : "")},
          {"fileType", is_dir ? "directory" : "file"},
          {"downloadUrl", is_dir ? boost::json::value(nullptr) : boost::json::value("file://" + e.path().string())},
          {"contentLength", size},
          {"lastModified", iso_time(static_cast<std::time_t>(secs.count()))},
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
