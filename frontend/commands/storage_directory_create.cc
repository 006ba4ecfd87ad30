// batchai storage directory create: one directory in a file share. As in
// Azure Files, its parent must exist, and an existing directory is not an
// error ("created": false).
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "frontend/commands/site.h"
#include "frontend/commands/storage_common.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    storage::kShareNameOption,
    args::required({"name", 'n', "PATH", "the directory, as a path inside the share"}),
    storage::kAccountNameOption,
    storage::kAccountKeyOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto name = p.get("name");  // required
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  auto share = storage::existing_share(*site, p, "share-name");
  if (!share) return share.error();
  auto dir = storage::inside(*share, *name, "name");
  if (!dir) return dir.error();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir->parent_path(), ec)) {
    return Error{"--name: the parent of \"" + *name + "\" does not exist in the share; create it first"};
  }
  auto created = storage::make_directory(*dir, "--name: \"" + *name + "\" in the share");
  if (!created) return created.error();
  static constexpr Column kColumns[] = {{"Created", "created"}};
  if (auto s = emit(ctx, boost::json::object{{"created", *created}}, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageDirectoryCreate = {
    "storage directory create", "Create a directory in a file share (az storage directory create)", kOptions, {}, run};

}  // namespace batchai::frontend
