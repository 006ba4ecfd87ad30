#include <string>
#include <vector>

#include "io/job_spec.h"

namespace batchai::jobspec {
namespace {

class Replacer {
 public:
  Replacer(const StorageAccount& account, std::string_view file) : account_(account), file_(file) {}

  void account_in(std::string& field, const std::string& path) {
    replace(field, path, kStorageAccountPlaceholder, account_.name, "--storage-account-name",
            "AZURE_BATCHAI_STORAGE_ACCOUNT");
  }
  void key_in(std::optional<SecretValue>& key, const std::string& path) {
    if (!key) return;
    if (auto* inline_key = std::get_if<std::string>(&*key)) {
      replace(*inline_key, path, kStorageKeyPlaceholder, account_.key, "--storage-account-key",
              "AZURE_BATCHAI_STORAGE_KEY");
    }
  }
  Status status() const {
    if (errors_.empty()) return {};
    std::string all;
    for (const auto& e : errors_) all += (all.empty() ? "" : "\n") + e;
    return Error{all};
  }

 private:
  void replace(std::string& field, const std::string& path, std::string_view placeholder,
               const std::optional<std::string>& value, std::string_view flag, std::string_view env) {
    for (auto at = field.find(placeholder); at != std::string::npos; at = field.find(placeholder, at)) {
      if (!value) {
        errors_.push_back(std::string(file_) + ": " + path + ": " + std::string(placeholder) + " needs " +
                          std::string(flag) + " or $" + std::string(env));
        return;
      }
      field.replace(at, placeholder.size(), *value);
      at += value->size();
    }
  }

  const StorageAccount& account_;
  std::string_view file_;
  std::vector<std::string> errors_;
};

}  // namespace

Result<JobSpec> replace_storage_placeholders(JobSpec spec, const StorageAccount& account, std::string_view file) {
  if (!spec.mount_volumes) return spec;
  Replacer r(account, file);
  const std::string root = "properties.mountVolumes.";
  auto& volumes = *spec.mount_volumes;
  for (std::size_t i = 0; i < volumes.azure_file_shares.size(); ++i) {
    auto& share = volumes.azure_file_shares[i];
    const std::string at = root + "azureFileShares[" + std::to_string(i) + "]";
    r.account_in(share.account_name, at + ".accountName");
    r.account_in(share.azure_file_url, at + ".azureFileUrl");
    r.key_in(share.account_key, at + ".credentials.accountKey");
  }
  for (std::size_t i = 0; i < volumes.azure_blob_file_systems.size(); ++i) {
    auto& blob = volumes.azure_blob_file_systems[i];
    const std::string at = root + "azureBlobFileSystems[" + std::to_string(i) + "]";
    r.account_in(blob.account_name, at + ".accountName");
    r.key_in(blob.account_key, at + ".credentials.accountKey");
  }
  if (auto s = r.status(); !s) return s.error();
  return spec;
}

}  // namespace batchai::jobspec
