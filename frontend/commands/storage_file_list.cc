// batchai storage file list: the files and directories at one path of a
// file share, as az lists them (not recursive).
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
    storage::kShareNameOption,
    {"path", 'p', "PATH", "the directory in the share to list (default: its top)"},
    storage::kAccountNameOption,
    storage::kAccountKeyOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  auto share = storage::existing_share(*site, p, "share-name");
  if (!share) return share.error();
  const std::string where = p.get("path").value_or("");
  auto dir = storage::inside(*share, where, "path");
  if (!dir) return dir.error();
  std::error_code ec;
  if (!fs::is_directory(*dir, ec)) return Error{"--path: no directory \"" + where + "\" in the share"};
  std::vector<boost::json::object> entries;
  for (const auto& e : fs::directory_iterator(*dir, ec)) {
    const std::string name = e.path().filename().string();
    if (is_temporary_name(name)) continue;  // a copy still being written
    std::error_code e_ec;
    if (e.is_directory(e_ec)) {
      entries.push_back({{"name", name}, {"type", "dir"}, {"contentLength", nullptr}});
    } else if (e.is_regular_file(e_ec)) {
      entries.push_back({{"name", name}, {"type", "file"}, {"contentLength", e.file_size(e_ec)}});
    }
  }
  if (ec) return Error{"cannot list " + dir->string() + ": " + ec.message()};
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.at("name").as_string() < b.at("name").as_string(); });
  boost::json::array out(entries.begin(), entries.end());
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Content Length", "contentLength"}, {"Type", "type"}};
  if (auto s = emit(ctx, out, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageFileList = {
    "storage file list", "List the files and directories at a path of a file share (az storage file list)", kOptions,
    {}, run};

}  // namespace batchai::frontend
