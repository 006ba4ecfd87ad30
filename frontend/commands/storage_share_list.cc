// batchai storage share list: the file shares jobs can mount by name: the
// site's own (mapped under "shares") and those users made under storageRoot.
#include <map>
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "frontend/commands/site.h"
#include "frontend/commands/storage_common.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {storage::kAccountNameOption, storage::kAccountKeyOption};

Result<int> run(Context& ctx, const args::Parsed&) {
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  // The site's file shares, then those users made; a name the site maps
  // is the site's, whatever stands under storageRoot.
  std::map<std::string, boost::json::object> shares;
  for (const auto& s : site->shares) {
    if (s.kind != site::Share::Kind::azure_file_share) continue;
    shares[s.name] = {{"name", s.name}, {"path", s.path}, {"owner", "site"}};
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(site->storage_root, ec)) {
    const std::string name = e.path().filename().string();
    std::error_code dir_ec;
    if (!storage::check_share_name(name, "") || !e.is_directory(dir_ec) || shares.count(name)) continue;
    shares[name] = {{"name", name}, {"path", e.path().string()}, {"owner", "user"}};
  }
  // A storage root not made yet holds no shares; anything else is an error.
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Error{"cannot list the storage root " + site->storage_root + ": " + ec.message()};
  }
  boost::json::array out;
  for (auto& [name, share] : shares) out.push_back(std::move(share));
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Owner", "owner"}, {"Path", "path"}};
  emit(ctx, out, kColumns);
  return 0;
}

}  // namespace

extern const Command kStorageShareList = {
    "storage share list", "List the file shares in the site's storage root", kOptions, {}, run};

}  // namespace batchai::frontend
