// batchai storage file download: copy one file out of a file share. The
// local file appears whole or not at all.
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
    args::required({"path", 'p', "PATH", "the file's path in the share"}),
    {"dest", 0, "PATH", "where to put it: a file, or a directory to put it in (default: the current directory)"},
    storage::kAccountNameOption,
    storage::kAccountKeyOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto path = p.get("path");  // required
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  auto share = storage::existing_share(*site, p, "share-name");
  if (!share) return share.error();
  auto from = storage::inside(*share, *path, "path");
  if (!from) return from.error();
  std::error_code ec;
  if (!fs::is_regular_file(*from, ec)) return Error{"--path: no file \"" + *path + "\" in the share"};
  fs::path dest = p.get("dest").value_or(".");
  if (fs::is_directory(dest, ec)) dest /= from->filename();
  auto bytes = copy_file_atomic(from->string(), dest.string());
  if (!bytes) return bytes.error();
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Content Length", "contentLength"}, {"Dest", "dest"}};
  const boost::json::object row{{"name", *path}, {"contentLength", *bytes}, {"dest", dest.string()}};
  if (auto s = emit(ctx, row, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageFileDownload = {
    "storage file download", "Download a file from a file share (az storage file download)", kOptions, {}, run};

}  // namespace batchai::frontend
