// batchai storage account create: the tutorial's `az storage account
// create`. A site has one storage account, its storageRoot, so this makes
// that directory if it is missing and says where it is.
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "frontend/commands/storage_common.h"
#include "frontend/commands/site.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    args::required({"name", 'n', "NAME", "the account's name, as in az; the site has one account, its storageRoot"}),
    {"resource-group", 'g', "NAME", "accepted for az scripts"},
    {"location", 'l', "LOCATION", "accepted for az scripts"},
    {"sku", 0, "SKU", "accepted for az scripts"},
    {"kind", 0, "KIND", "accepted for az scripts"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto name = p.get("name");  // required
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  std::error_code ec;
  std::filesystem::create_directories(site->storage_root, ec);
  if (ec) return Error{"cannot create the storage root " + site->storage_root + ": " + ec.message()};
  boost::json::object account{{"name", *name},
                              {"provisioningState", "Succeeded"},
                              {"primaryEndpoints", boost::json::object{{"file", "file://" + site->storage_root}}},
                              {"storageRoot", site->storage_root}};
  static constexpr Column kColumns[] = {{"Name", "name"}, {"ProvisioningState", "provisioningState"},
                                        {"StorageRoot", "storageRoot"}};
  if (auto s = emit(ctx, account, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStorageAccountCreate = {
    "storage account create", "Make the site's storage root ready for file shares (az storage account create)",
    kOptions, {}, run};

}  // namespace batchai::frontend
