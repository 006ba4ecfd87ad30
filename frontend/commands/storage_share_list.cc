// batchai storage share list: the file shares jobs can mount by name: the
// site's own (mapped under "shares") and those users made under storageRoot.
#include <map>
#include <boost/json.hpp>
#include <filesystem>

#include "frontend/commands/site.h"
#include "frontend/commands/storage_common.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {storage::kAccountNameOption, storage::kAccountKeyOption};

Result<int> run(Context& ctx, const args::Parsed&) {
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  // The site's file shares and those users made, by name.
  std::map<std::string, boost::json::object> shares;
  for (const auto& s : site->shares) {
    if (s.kind != site::Share::Kind::azure_file_share) continue;
    shares[s.name] = {{"name", s.name}, {"path", s.path}, {"owner", "site"}};
  }
  auto own = storage::user_shares(*site);
  if (!own) return own.error();
  for (const auto& s : *own) shares[s.name] = {{"name", s.name}, {"path", s.path}, {"owner", "user"}};
  boost::json::array out;
  for (auto& [name, share] : shares) out.push_back(std::move(share));
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Owner", "owner"}, {"Path", "path"}};
  if (auto s = emit(ctx, out, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageShareList = {
    "storage share list", "List the file shares in the site's storage root", kOptions, {}, run};

}  // namespace batchai::frontend
