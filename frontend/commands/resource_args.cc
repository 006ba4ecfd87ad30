#include "frontend/commands/resource_args.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>

#include "base/diag.h"
#include "io/job_spec.h"

namespace batchai::frontend {
namespace {

struct Source {
  std::string_view flag;     // "resource-group"
  const char* env;           // "BATCHAI_DEFAULT_GROUP"
  const char* default_name;  // "group", as in `configure --defaults group=`
  Status (*validate)(std::string_view, std::string_view);
};

// Resource groups are Azure's, with Azure's wider rule ("batchai.recipes").
constexpr Source kGroup = {"resource-group", "BATCHAI_DEFAULT_GROUP", "group",
                           jobspec::validate_resource_group_name};
constexpr Source kWorkspace = {"workspace", "BATCHAI_DEFAULT_WORKSPACE", "workspace",
                               jobspec::validate_resource_name};

Result<std::string> checked(const Source& source, std::string value, std::string_view where) {
  if (auto ok = source.validate(value, where); !ok) return ok.error();
  return value;
}

Result<std::optional<std::string>> lookup(const Context& ctx, const args::Parsed& p, state::Store& store,
                                          const Source& source) {
  using Found = std::optional<std::string>;
  if (auto v = p.get(source.flag)) {
    auto ok = checked(source, *v, "--" + std::string(source.flag));
    if (!ok) return ok.error();
    return Found(*ok);
  }
  // An empty variable counts as unset, as `export BATCHAI_DEFAULT_GROUP=`
  // is how a shell clears it for one command.
  if (auto v = ctx.getenv(source.env); v && !v->empty()) {
    auto ok = checked(source, *v, source.env);
    if (!ok) return ok.error();
    return Found(*ok);
  }
  auto stored = store.get_default(source.default_name);
  if (!stored) return stored.error();
  if (!*stored) return Found();
  auto ok = checked(source, **stored,
                    "default " + std::string(source.default_name) + " (batchai configure --list-defaults)");
  if (!ok) return ok.error();
  return Found(*ok);
}

Result<std::string> required(const Context& ctx, const args::Parsed& p, state::Store& store, const Source& source) {
  auto v = lookup(ctx, p, store, source);
  if (!v) return v.error();
  if (!*v) {
    return Error{"--" + std::string(source.flag) + ": required (or set a default: batchai configure --defaults " +
                 source.default_name + "=NAME)"};
  }
  return **v;
}

}  // namespace

Result<state::Store*> open_store(Context& ctx) {
  if (!ctx.store) return Error{"no state database in this context"};
  return ctx.store();
}

Result<std::string> resource_group(const Context& ctx, const args::Parsed& p, state::Store& store) {
  return required(ctx, p, store, kGroup);
}

Result<std::optional<std::string>> resource_group_if_set(const Context& ctx, const args::Parsed& p,
                                                         state::Store& store) {
  return lookup(ctx, p, store, kGroup);
}

Result<state::WorkspaceKey> workspace_key(const Context& ctx, const args::Parsed& p, state::Store& store) {
  auto group = required(ctx, p, store, kGroup);
  if (!group) return group.error();
  auto workspace = required(ctx, p, store, kWorkspace);
  if (!workspace) return workspace.error();
  return state::WorkspaceKey{*group, *workspace};
}

Result<std::string> resource_name(const args::Parsed& p, std::string_view flag) {
  std::string v = p.get(flag).value_or("");
  if (auto ok = jobspec::validate_resource_name(v, "--" + std::string(flag)); !ok) return ok.error();
  return v;
}

namespace {

std::string_view type_word(ResourceType type) {
  switch (type) {
    case ResourceType::workspace: return "workspace";
    case ResourceType::experiment: return "experiment";
    case ResourceType::cluster: return "cluster";
    case ResourceType::file_server: return "file server";
    case ResourceType::job: return "job";
  }
  return "resource";
}

std::string_view id_form(ResourceType type) {
  switch (type) {
    case ResourceType::workspace: return "/subscriptions/SUB/resourceGroups/G/providers/Microsoft.BatchAI/workspaces/W";
    case ResourceType::experiment:
      return "/subscriptions/SUB/resourceGroups/G/providers/Microsoft.BatchAI/workspaces/W/experiments/E";
    case ResourceType::cluster:
      return "/subscriptions/SUB/resourceGroups/G/providers/Microsoft.BatchAI/workspaces/W/clusters/C";
    case ResourceType::file_server:
      return "/subscriptions/SUB/resourceGroups/G/providers/Microsoft.BatchAI/workspaces/W/fileServers/F";
    case ResourceType::job:
      return "/subscriptions/SUB/resourceGroups/G/providers/Microsoft.BatchAI/workspaces/W/experiments/E/jobs/J";
  }
  return "";
}

bool same_word(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Result<ResourceId> parse_resource_id(std::string_view id, ResourceType type) {
  const std::string shown = "--ids: '" + diag::one_line(id) + "'";
  auto bad = [&]() {
    const std::string_view word = type_word(type);
    return Error{shown + (word.front() == 'e' ? " is not an " : " is not a ") + std::string(word) + " id (expected " +
                 std::string(id_form(type)) + ")"};
  };
  std::vector<std::string_view> seg;
  if (!id.starts_with('/')) return bad();
  for (std::string_view rest = id.substr(1);;) {
    auto slash = rest.find('/');
    seg.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  // subscriptions SUB resourceGroups G providers Microsoft.BatchAI workspaces W ...
  if (seg.size() < 8 || !same_word(seg[0], "subscriptions") || seg[1].empty() ||
      !same_word(seg[2], "resourceGroups") || !same_word(seg[4], "providers") ||
      !same_word(seg[5], "Microsoft.BatchAI") || !same_word(seg[6], "workspaces")) {
    return bad();
  }
  ResourceId r;
  r.group = std::string(seg[3]);
  r.workspace = std::string(seg[7]);
  if (seg.size() == 8) {
    r.type = ResourceType::workspace;
  } else if (seg.size() == 10 && same_word(seg[8], "experiments")) {
    r.type = ResourceType::experiment;
  } else if (seg.size() == 10 && same_word(seg[8], "clusters")) {
    r.type = ResourceType::cluster;
  } else if (seg.size() == 10 && same_word(seg[8], "fileServers")) {
    r.type = ResourceType::file_server;
  } else if (seg.size() == 12 && same_word(seg[8], "experiments") && same_word(seg[10], "jobs")) {
    r.type = ResourceType::job;
    r.job = std::string(seg[11]);
  } else {
    return bad();
  }
  if (seg.size() >= 10) r.name = std::string(seg[9]);
  if (r.type != type) return bad();
  if (auto ok = jobspec::validate_resource_group_name(r.group, shown + ": resource group"); !ok) return ok.error();
  if (auto ok = jobspec::validate_resource_name(r.workspace, shown + ": workspace"); !ok) return ok.error();
  if (!r.name.empty()) {
    if (auto ok = jobspec::validate_resource_name(r.name, shown + ": name"); !ok) return ok.error();
  }
  if (!r.job.empty()) {
    if (auto ok = jobspec::validate_resource_name(r.job, shown + ": job"); !ok) return ok.error();
  }
  return r;
}

Result<std::optional<std::vector<ResourceId>>> resource_ids(const args::Parsed& p, ResourceType type) {
  using Ids = std::optional<std::vector<ResourceId>>;
  if (!p.has("ids")) return Ids();
  for (std::string_view flag : {"name", "experiment", "resource-group", "workspace"}) {
    if (p.has(flag)) return Error{"--ids: give either --ids or --" + std::string(flag) + ", not both"};
  }
  std::vector<ResourceId> ids;
  for (const auto& text : p.all("ids")) {
    auto id = parse_resource_id(text, type);
    if (!id) return id.error();
    ids.push_back(std::move(*id));
  }
  return Ids(std::move(ids));
}

Status confirm(const args::Parsed& p) {
  if (p.has("yes")) return {};
  if (!::isatty(STDIN_FILENO)) {
    return Error{"cannot ask for confirmation: stdin is not a terminal; pass -y (--yes) to go ahead without asking"};
  }
  // az asks until it reads y or n. The question goes to stderr, unlike
  // az's, so that stdout stays the command's result for scripts.
  for (;;) {
    std::cerr << "Are you sure you want to perform this operation? (y/n): " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) return Error{"operation cancelled"};
    for (char& c : answer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (answer == "y") return {};
    if (answer == "n") return Error{"operation cancelled"};
  }
}

}  // namespace batchai::frontend
