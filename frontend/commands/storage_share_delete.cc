// batchai storage share delete: remove a file share and everything in it.
// Unlike az, it asks first (or takes -y): on a shared filesystem there is
// no soft delete to undo a typo.
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "frontend/commands/resource_args.h"
#include "frontend/commands/site.h"
#include "frontend/commands/storage_common.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    args::required({"name", 'n', "NAME", "the share"}),
    kYesOption,
    storage::kAccountNameOption,
    storage::kAccountKeyOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto name = storage::share_name(p, "name");
  if (!name) return name.error();
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  const auto [dir, site_mapped] = storage::share_dir(*site, *name);
  if (site_mapped) {
    return Error{"--name: \"" + *name + "\" is the site's share (" + dir.string() + " in " + site->source +
                 "); only what users made under storageRoot can be deleted here"};
  }
  std::error_code ec;
  // symlink_status: a link standing where a share should be is removed as
  // a link, never followed into whatever it points at.
  const bool exists = std::filesystem::symlink_status(dir, ec).type() == std::filesystem::file_type::directory;
  if (exists) {
    if (auto ok = confirm(p); !ok) return ok.error();
    std::filesystem::remove_all(dir, ec);
    if (ec) return Error{"cannot delete " + dir.string() + ": " + ec.message()};
  }
  static constexpr Column kColumns[] = {{"Deleted", "deleted"}};
  if (auto s = emit(ctx, boost::json::object{{"deleted", exists}}, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageShareDelete = {
    "storage share delete", "Delete a file share and its files (asks first, unlike az; -y does not)", kOptions, {},
    run};

}  // namespace batchai::frontend
