// batchai file-server create: Batch AI's NFS server as a directory on the
// site's shared filesystem (file_server_common.h). The VM's settings are
// kept and shown back as az did, and change nothing on Slurm; each says so
// in one note.
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "base/diag.h"
#include "base/files.h"
#include "frontend/commands/file_server_common.h"
#include "frontend/commands/resource_args.h"
#include "frontend/commands/site.h"
#include "frontend/commands/storage_common.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    file_servers::kNameOption,
    {"vm-size", 's', "SIZE", "the VM size az asked for (or properties.vmSize in --config-file); recorded"},
    {"disk-count", 0, "N", "data disks az attached; recorded"},
    {"disk-size", 0, "GB", "size of each data disk; recorded"},
    {"storage-sku", 0, "SKU", "Premium_LRS or Standard_LRS; recorded"},
    {"caching-type", 0, "TYPE", "none, readonly or readwrite; recorded"},
    {"user-name", 'u', "NAME", "the VM's admin user (default: you); recorded"},
    {"ssh-key", 'k', "KEY", "accepted for az scripts; never stored"},
    {"password", 'p', "PASSWORD", "accepted for az scripts; never stored"},
    {"generate-ssh-keys", 0, "", "accepted for az scripts; no keys are made"},
    {"subnet", 0, "ID", "the VM's subnet; recorded"},
    {"config-file", 'f', "FILE", "a file server's JSON (nfs.json): properties.vmSize, dataDisks, ..."},
    {"no-wait", 0, "", "create the same and print nothing, as az did"},
};

// One line per flag that changes nothing on Slurm.
void inert(std::string_view flag, const std::string& dir) {
  diag::note("--" + std::string(flag) + " is recorded; on Slurm the file server is the directory " + dir);
}

// The settings nfs.json gives, at Batch AI's paths (under "properties").
struct FromFile {
  std::optional<std::string> vm_size, user, subnet;
  json::object disks;
};

Result<FromFile> read_config(const std::string& file) {
  auto text = read_text_file(file, "--config-file");
  if (!text) return text.error();
  boost::system::error_code ec;
  json::parse_options options;
  options.allow_comments = true;
  json::value v = json::parse(*text, ec, {}, options);
  if (ec) return Error{file + ": not JSON: " + ec.message()};
  if (!v.is_object()) return Error{file + ": expected an object"};
  const json::object* props = &v.as_object();
  std::string at = "";
  if (const auto* p = props->if_contains("properties")) {
    if (!p->is_object()) return Error{file + ": properties: expected an object"};
    props = &p->as_object();
    at = "properties.";
  }
  FromFile out;
  auto text_at = [&](const json::object& o, std::string_view k, const std::string& path,
                     std::optional<std::string>& into) -> Status {
    const json::value* x = o.if_contains(k);
    if (!x || x->is_null()) return {};
    if (!x->is_string()) return Error{file + ": " + path + ": expected a string"};
    into = std::string(x->as_string());
    return {};
  };
  if (auto s = text_at(*props, "vmSize", at + "vmSize", out.vm_size); !s) return s.error();
  if (const auto* d = props->if_contains("dataDisks"); d && !d->is_null()) {
    if (!d->is_object()) return Error{file + ": " + at + "dataDisks: expected an object"};
    for (const auto& [k, x] : d->as_object()) {
      const bool number = k == "diskSizeInGB" || k == "diskCount";
      if (!number && k != "storageAccountType" && k != "cachingType") {
        diag::warning(file + ": " + at + "dataDisks." + std::string(k) + ": unknown key, ignored");
        continue;
      }
      if (number ? !x.is_int64() && !x.is_uint64() : !x.is_string()) {
        return Error{file + ": " + at + "dataDisks." + std::string(k) + ": expected " +
                     (number ? "an integer" : "a string")};
      }
      out.disks[k] = x;
    }
  }
  if (const auto* ssh = props->if_contains("sshConfiguration"); ssh && ssh->is_object()) {
    if (const auto* u = ssh->as_object().if_contains("userAccountSettings"); u && u->is_object()) {
      if (auto s = text_at(u->as_object(), "adminUserName",
                           at + "sshConfiguration.userAccountSettings.adminUserName", out.user);
          !s) {
        return s.error();
      }
    }
  }
  if (const auto* sn = props->if_contains("subnet"); sn && sn->is_object()) {
    if (auto s = text_at(sn->as_object(), "id", at + "subnet.id", out.subnet); !s) return s.error();
  }
  return out;
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = file_servers::key(ctx, p, **store);
  if (!key) return key.error();
  FromFile given;
  if (auto f = p.get("config-file")) {
    auto read = read_config(*f);
    if (!read) return read.error();
    given = std::move(*read);
  }
  // Flags win over the file, as in az.
  if (auto s = p.get("vm-size")) given.vm_size = *s;
  if (!given.vm_size || given.vm_size->empty()) {
    return Error{"--vm-size: required (or give properties.vmSize in --config-file)"};
  }
  if (auto n = p.get_int("disk-count", 0, 64); !n) {
    return n.error();
  } else if (*n) {
    given.disks["diskCount"] = **n;
  }
  if (auto n = p.get_int("disk-size", 1, 1 << 20); !n) {
    return n.error();
  } else if (*n) {
    given.disks["diskSizeInGB"] = **n;
  }
  if (auto sku = p.get("storage-sku")) {
    if (*sku != "Premium_LRS" && *sku != "Standard_LRS") {
      return Error{"--storage-sku: expected Premium_LRS or Standard_LRS, got '" + diag::one_line(*sku) + "'"};
    }
    given.disks["storageAccountType"] = *sku;
  }
  if (auto c = p.get("caching-type")) {
    if (*c != "none" && *c != "readonly" && *c != "readwrite") {
      return Error{"--caching-type: expected none, readonly or readwrite, got '" + diag::one_line(*c) + "'"};
    }
    given.disks["cachingType"] = *c;
  }
  if (!given.disks.contains("cachingType")) given.disks["cachingType"] = "none";
  for (const char* k : {"diskCount", "diskSizeInGB", "storageAccountType"}) {
    if (!given.disks.contains(k)) given.disks[k] = nullptr;
  }
  if (auto u = p.get("user-name")) given.user = *u;
  if (!given.user) given.user = ctx.getenv("USER").value_or("");
  if (auto s = p.get("subnet")) given.subnet = *s;

  auto site = read_site_config(ctx);
  if (!site) return site.error();
  const auto [dir, site_mapped] = file_servers::place(*site, key->file_server);
  bool made = false;
  std::error_code ec;
  if (site_mapped) {
    if (!std::filesystem::is_directory(dir, ec)) {
      return Error{"--name: the site maps the file server \"" + key->file_server + "\" to " + dir.string() +
                   ", which is missing here; ask an admin"};
    }
  } else {
    // Refused before the directory is made, so a duplicate leaves nothing.
    auto existing = (*store)->file_server(*key);
    if (!existing) return existing.error();
    if (*existing) {
      return Error{"file server '" + key->file_server + "' already exists in workspace '" + key->workspace +
                   "' (resource group '" + key->group + "')"};
    }
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) return Error{"cannot create " + dir.parent_path().string() + ": " + ec.message()};
    auto created = storage::make_directory(dir, dir.string());
    if (!created) return created.error();
    made = *created;
  }

  if (p.has("disk-count")) inert("disk-count", dir.string());
  if (p.has("disk-size")) inert("disk-size", dir.string());
  if (p.has("storage-sku")) inert("storage-sku", dir.string());
  if (p.has("caching-type")) inert("caching-type", dir.string());
  if (p.has("subnet")) inert("subnet", dir.string());
  if (p.has("user-name")) inert("user-name", dir.string());
  for (const char* secret : {"ssh-key", "password"}) {
    if (p.has(secret)) {
      diag::note("--" + std::string(secret) + " is accepted and never stored; there is no VM to log in to");
    }
  }
  if (p.has("generate-ssh-keys")) diag::note("--generate-ssh-keys is accepted; no VM, so no keys are made");

  state::FileServer f;
  f.key = *key;
  f.vm_size = *given.vm_size;
  f.path = dir.string();
  f.site_mapped = site_mapped;
  json::object props{{"dataDisks", given.disks},
                     {"adminUserName", *given.user},
                     {"subnet", given.subnet ? json::value(json::object{{"id", *given.subnet}}) : json::value()},
                     {"directoryCreated", made}};
  f.properties_json = json::serialize(props);
  if (auto s = (*store)->create_file_server(f); !s) {
    // A directory made for this call only is not left behind.
    if (made) std::filesystem::remove(dir, ec);
    return s.error();
  }
  auto stored = (*store)->file_server(*key);
  if (!stored) return stored.error();
  if (p.has("no-wait") || !*stored) return 0;
  if (auto s = file_servers::emit(ctx, std::span(&**stored, 1), false); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kFileServerCreate = {
    "file-server create",
    "Create a file server: a directory on the shared filesystem that jobs mount by its name", kOptions, {}, run};

}  // namespace batchai::frontend
