// batchai storage share create: a file share, a directory under the site's
// storageRoot that jobs mount by its name. As az, an existing share (one of
// the site's own included) is not an error: the result says "created": false.
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "frontend/commands/site.h"
#include "frontend/commands/storage_common.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    args::required({"name", 'n', "NAME", "the share's name: 3 to 63 lowercase letters, digits and hyphens"}),
    {"quota", 0, "GB", "accepted for az scripts; the filesystem's own quotas apply"},
    storage::kAccountNameOption,
    storage::kAccountKeyOption,
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto name = storage::share_name(p, "name");
  if (!name) return name.error();
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  std::error_code ec;
  std::filesystem::create_directories(site->storage_root, ec);
  if (ec) return Error{"cannot create the storage root " + site->storage_root + ": " + ec.message()};
  const auto [dir, site_mapped] = storage::share_dir(*site, *name);
  if (site_mapped && !std::filesystem::is_directory(dir, ec)) {
    return Error{"--name: the site maps the share \"" + *name + "\" to " + dir.string() +
                 ", which is missing here; ask an admin"};
  }
  auto created = storage::make_directory(dir, dir.string());
  if (!created) return created.error();
  static constexpr Column kColumns[] = {{"Created", "created"}};
  if (auto s = emit(ctx, boost::json::object{{"created", *created}}, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageShareCreate = {
    "storage share create", "Create a file share in the site's storage root (az storage share create)", kOptions, {},
    run};

}  // namespace batchai::frontend
