#include "frontend/commands/resource_args.h"

#include <unistd.h>

#include <cctype>
#include <iostream>

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
