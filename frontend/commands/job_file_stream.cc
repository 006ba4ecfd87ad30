// batchai job file stream: print a job's file as it grows, like tail -f,
// until the job ends; it waits for the file when the job has not made it
// yet.
#include <fstream>

#include "frontend/commands/job_common.h"
#include "frontend/commands/job_files.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"job", 'j', "NAME", "job name"}),
    args::required({"file-name", 'f', "NAME", "file to follow, e.g. stdout.txt"}),
    {"output-directory-id", 'd', "ID", "stdouterr (default) or an outputDirectories id"},
    {"path", 'p', "PATH", "directory inside it (default: .)"},
};

// Prints what was added to `file` since `offset`.
void copy_new(const std::string& file, std::streamoff& offset, std::ostream& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < offset) offset = 0;  // truncated: start again, as tail -F
  if (size == offset) return;
  in.seekg(offset);
  std::string chunk(static_cast<std::size_t>(size - offset), '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  out.write(chunk.data(), in.gcount());
  out.flush();
  offset += in.gcount();
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto name = p.get("file-name");  // required
  if (name->find('/') != std::string::npos) return Error{"--file-name: a name, not a path (use --path)"};
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = job_key(ctx, p, **store, "job");
  if (!key) return key.error();
  const std::string id = p.get("output-directory-id").value_or("stdouterr");
  const std::string path = p.get("path").value_or(".");
  std::streamoff offset = 0;
  for (;;) {
    auto job = load_job(ctx, **store, *key);
    if (!job) return job.error();
    auto dir = job_output_directory(*job, id, path);
    if (!dir) return dir.error();
    if (*dir) copy_new(**dir + "/" + *name, offset, *ctx.out);
    // One more read after the end, so nothing written last is lost.
    if (is_final(*job)) return 0;
    ctx.sleep(std::chrono::seconds(1));
  }
}

}  // namespace

extern const Command kJobFileStream = {"job file stream", "Follow a job's file until the job ends", kOptions, {},
                                       run};

}  // namespace batchai::frontend
