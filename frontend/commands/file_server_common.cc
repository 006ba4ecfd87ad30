#include "frontend/commands/file_server_common.h"

#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"
#include "frontend/output.h"

namespace batchai::frontend::file_servers {

namespace json = boost::json;

Result<state::FileServerKey> key(const Context& ctx, const args::Parsed& p, state::Store& store) {
  auto ws = workspace_key(ctx, p, store);
  if (!ws) return ws.error();
  auto name = resource_name(p, "name");
  if (!name) return name.error();
  return state::FileServerKey{ws->group, ws->workspace, *name};
}

Place place(const site::SiteConfig& site, std::string_view name) {
  for (const auto& s : site.shares) {
    if (s.kind == site::Share::Kind::file_server && s.name == name) return {s.path, true};
  }
  return {std::filesystem::path(site.storage_root) / "fileServers" / std::string(name), false};
}

namespace {

json::value member(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? *v : json::value(nullptr);
}

json::object properties(const state::FileServer& f) {
  boost::system::error_code ec;
  json::value v = json::parse(f.properties_json, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

json::object table_row(const state::FileServer& f) {
  const json::object props = properties(f);
  const json::value disks = member(props, "dataDisks");
  std::string size = "0";
  std::string count = "0";
  if (disks.is_object()) {
    const auto& d = disks.as_object();
    if (const auto* n = d.if_contains("diskCount"); n && !n->is_null()) count = json::serialize(*n);
    if (const auto* s = d.if_contains("diskSizeInGB"); s && !s->is_null()) size = json::serialize(*s);
  }
  return json::object{{"name", f.key.file_server},   {"resourceGroup", f.key.group},
                      {"vmSize", f.vm_size},         {"disks", count + " x " + size + " Gb"},
                      {"publicIp", nullptr},         {"internalIp", nullptr},
                      {"mountPoint", f.path}};
}

}  // namespace

json::value to_json(const state::FileServer& f) {
  const json::object props = properties(f);
  json::value disks = member(props, "dataDisks");
  if (!disks.is_object()) {
    disks = json::object{{"cachingType", "none"}, {"diskCount", nullptr}, {"diskSizeInGB", nullptr},
                         {"storageAccountType", nullptr}};
  }
  json::value subnet = member(props, "subnet");
  const json::value user = member(props, "adminUserName");
  const json::value when = iso_time(static_cast<std::time_t>(f.created));
  return json::object{
      {"creationTime", when},
      {"dataDisks", disks},
      {"id", arm_id({f.key.group, f.key.workspace}) + "/fileServers/" + f.key.file_server},
      {"mountSettings", json::object{{"fileServerInternalIp", nullptr},
                                     {"fileServerPublicIp", nullptr},
                                     {"fileServerType", "nfs"},
                                     {"mountPoint", f.path}}},
      {"name", f.key.file_server},
      {"provisioningState", "succeeded"},
      {"provisioningStateTransitionTime", when},
      {"resourceGroup", f.key.group},
      {"sshConfiguration",
       json::object{{"publicIPsToAllow", json::array{"*"}},
                    {"userAccountSettings", json::object{{"adminUserName", user},
                                                         {"adminUserPassword", nullptr},
                                                         {"adminUserSshPublicKey", nullptr}}}}},
      {"subnet", subnet},
      {"type", "Microsoft.BatchAI/workspaces/fileServers"},
      {"vmSize", f.vm_size},
  };
}

Status emit(const Context& ctx, std::span<const state::FileServer> all, bool as_list) {
  static constexpr Column kColumns[] = {{"Name", "name"},         {"Resource Group", "resourceGroup"},
                                        {"Size", "vmSize"},       {"Disks", "disks"},
                                        {"Public IP", "publicIp"}, {"Internal IP", "internalIp"},
                                        {"Mount Point", "mountPoint"}};
  // A table has flat rows, as az's table transformer made them; JSON (and
  // --query) the full objects.
  json::array rows;
  for (const auto& f : all) rows.push_back(ctx.format == OutputFormat::table ? table_row(f) : to_json(f));
  if (as_list) return frontend::emit(ctx, rows, kColumns);
  if (rows.empty()) return {};
  return frontend::emit(ctx, rows.front(), kColumns);
}

Status add_to_site(site::SiteConfig& site, state::Store& store, const state::WorkspaceKey& ws) {
  auto ws_found = store.workspace(ws);
  if (!ws_found) return ws_found.error();
  if (!*ws_found) return {};  // the job's own check names the missing workspace
  auto all = store.file_servers(ws);
  if (!all) return all.error();
  for (const auto& f : *all) {
    if (!f.site_mapped) site.shares.push_back({site::Share::Kind::file_server, f.key.file_server, f.path});
  }
  return {};
}

namespace {

Result<state::FileServer> find(state::Store& store, const state::FileServerKey& key) {
  auto found = store.file_server(key);
  if (!found) return found.error();
  if (*found) return std::move(**found);
  auto ws = store.workspace({key.group, key.workspace});
  if (!ws) return ws.error();
  if (!*ws) return state::not_found(state::WorkspaceKey{key.group, key.workspace});
  return state::not_found(key);
}

}  // namespace

Result<std::vector<state::FileServer>> named(const Context& ctx, const args::Parsed& p, state::Store& store) {
  auto ids = resource_ids(p, ResourceType::file_server);
  if (!ids) return ids.error();
  std::vector<state::FileServerKey> keys;
  if (*ids) {
    for (const auto& id : **ids) keys.push_back({id.group, id.workspace, id.name});
  } else {
    auto one = key(ctx, p, store);
    if (!one) return one.error();
    keys.push_back(std::move(*one));
  }
  std::vector<state::FileServer> out;
  for (const auto& k : keys) {
    auto f = find(store, k);
    if (!f) return f.error();
    out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace batchai::frontend::file_servers
