// batchai storage file upload: copy one local file into a file share. The
// copy appears whole or not at all (a temporary file, then a rename), so a
// job reading the share never sees half of it.
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "frontend/commands/site.h"
#include "frontend/commands/storage_common.h"
#include "frontend/output.h"
#include "base/files.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;

constexpr args::Option kOptions[] = {
    storage::kShareNameOption,
    args::required({"source", 0, "FILE", "the local file to upload"}),
    {"path", 'p', "PATH", "where in the share: a directory, or the file's new path (default: the share's top, "
                          "under the source's name)"},
    storage::kAccountNameOption,
    storage::kAccountKeyOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto source = p.get("source");  // required
  std::error_code ec;
  if (!fs::is_regular_file(*source, ec)) return Error{"--source: '" + *source + "' is not a readable file"};
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  auto share = storage::existing_share(*site, p, "share-name");
  if (!share) return share.error();
  auto target = storage::inside(*share, p.get("path").value_or(""), "path");
  if (!target) return target.error();
  // As az: a path naming a directory takes the file under its own name.
  if (fs::is_directory(*target, ec)) *target /= fs::path(*source).filename();
  if (!fs::is_directory(target->parent_path(), ec)) {
    return Error{"--path: the directory for \"" + p.get("path").value_or("") +
                 "\" does not exist in the share; create it with `batchai storage directory create`"};
  }
  auto bytes = copy_file_atomic(*source, target->string());
  if (!bytes) return bytes.error();
  const std::string name = target->lexically_relative(*share).generic_string();
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Content Length", "contentLength"}};
  const boost::json::object row{{"name", name}, {"contentLength", *bytes}};
  if (auto s = emit(ctx, row, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageFileUpload = {
    "storage file upload", "Upload a local file into a file share (az storage file upload)", kOptions, {}, run};

}  // namespace batchai::frontend
