// batchai storage file upload-batch: copy a local directory tree into a
// file share, making the directories it needs (as az does). Each file is
// copied whole or not at all; the first failure stops the batch and names
// the file.
#include <algorithm>
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
    args::required({"destination", 'd', "SHARE", "the file share"}),
    args::required({"source", 's', "DIR", "the local directory to upload"}),
    {"destination-path", 0, "PATH", "the directory in the share to upload into (default: the share's top)"},
    storage::kAccountNameOption,
    storage::kAccountKeyOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto source = p.get("source");  // required
  std::error_code ec;
  if (!fs::is_directory(*source, ec)) return Error{"--source: '" + *source + "' is not a directory"};
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  auto share = storage::existing_share(*site, p, "destination");
  if (!share) return share.error();
  auto top = storage::inside(*share, p.get("destination-path").value_or(""), "destination-path");
  if (!top) return top.error();
  // az makes the destination path and every directory below it.
  fs::create_directories(*top, ec);
  if (ec) return Error{"--destination-path: cannot create " + top->string() + ": " + ec.message()};

  // Sorted, so the output and the order of copies do not depend on the
  // filesystem's directory order.
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(*source, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path().lexically_relative(*source));
  }
  if (ec) return Error{"--source: cannot read '" + *source + "': " + ec.message()};
  std::sort(files.begin(), files.end());

  boost::json::array out;
  for (const auto& rel : files) {
    auto target = storage::inside(*top, rel.generic_string(), "destination-path");
    if (!target) return target.error();
    fs::create_directories(target->parent_path(), ec);
    if (ec) return Error{"cannot create " + target->parent_path().string() + ": " + ec.message()};
    auto bytes = copy_file_atomic((fs::path(*source) / rel).string(), target->string());
    if (!bytes) return bytes.error();
    out.push_back(boost::json::object{{"name", target->lexically_relative(*share).generic_string()},
                                      {"contentLength", *bytes}});
  }
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Content Length", "contentLength"}};
  if (auto s = emit(ctx, out, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageFileUploadBatch = {
    "storage file upload-batch", "Upload a local directory tree into a file share (az storage file upload-batch)",
    kOptions, {}, run};

}  // namespace batchai::frontend
