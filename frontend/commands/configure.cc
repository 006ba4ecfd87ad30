// batchai configure: the defaults that let -g and -w be left out, as
// `az configure --defaults group=rg` did for az. They live in the state
// database; $BATCHAI_DEFAULT_GROUP and $BATCHAI_DEFAULT_WORKSPACE override
// them for one shell, and a flag overrides both.
#include <boost/json.hpp>

#include "frontend/commands/resource_args.h"
#include "frontend/output.h"
#include "io/job_spec.h"
#include "base/spell.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    {"defaults", 'd', "NAME=VALUE",
     "set defaults, az's way: --defaults group=RG workspace=WS (names: group, workspace; an empty VALUE clears one)",
     true},
    {"list-defaults", 'l', "", "list the defaults in effect and where each comes from"},
};

// az took a space-separated list after --defaults: the first pair is the
// option's value, the next one arrives as an argument.
constexpr args::Positional kPositionals[] = {
    {"NAME=VALUE", "a further default after --defaults, as in az's list form", false},
};

struct Name {
  std::string_view name;
  const char* env;
};
constexpr Name kNames[] = {{"group", "BATCHAI_DEFAULT_GROUP"}, {"workspace", "BATCHAI_DEFAULT_WORKSPACE"}};

Status set_defaults(state::Store& store, const std::vector<std::string>& pairs) {
  std::vector<std::pair<std::string, std::string>> parsed;
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    if (eq == std::string::npos) return Error{"--defaults: expected NAME=VALUE, got '" + pair + "'"};
    std::string name = pair.substr(0, eq), value = pair.substr(eq + 1);
    bool known = false;
    for (const auto& n : kNames) known = known || n.name == name;
    if (!known) {
      std::string message = "--defaults: unknown name '" + name + "' (expected group or workspace";
      std::string_view candidates[] = {"group", "workspace"};
      if (auto near = closest_match(name, candidates)) message += "; did you mean '" + *near + "'?";
      return Error{message + ")"};
    }
    if (!value.empty()) {
      const auto validate = name == "group" ? jobspec::validate_resource_group_name : jobspec::validate_resource_name;
      if (auto ok = validate(value, "--defaults " + name); !ok) return ok.error();
    }
    parsed.emplace_back(std::move(name), std::move(value));
  }
  // Checked first, written after: a mistake in the second pair leaves the
  // first unchanged too.
  for (const auto& [name, value] : parsed) {
    if (auto s = store.set_default(name, value); !s) return s;
  }
  return {};
}

Result<int> list_defaults(const Context& ctx, state::Store& store) {
  boost::json::array rows;
  for (const auto& n : kNames) {
    std::string source, value;
    if (auto env = ctx.getenv(n.env); env && !env->empty()) {
      source = "$" + std::string(n.env);
      value = *env;
    } else {
      auto stored = store.get_default(std::string(n.name));
      if (!stored) return stored.error();
      if (!*stored) continue;
      source = "batchai configure";
      value = **stored;
    }
    rows.push_back(boost::json::object{{"name", n.name}, {"source", source}, {"value", value}});
  }
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Source", "source"}, {"Value", "value"}};
  if (auto s = emit(ctx, rows, kColumns); !s) return s.error();
  return 0;
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto pairs = p.all("defaults");
  const auto& more = p.positionals();
  if (!more.empty() && pairs.empty()) {
    return Error{"unexpected argument '" + more.front() + "' (NAME=VALUE pairs follow --defaults)"};
  }
  pairs.insert(pairs.end(), more.begin(), more.end());
  if (pairs.empty() && !p.has("list-defaults")) {
    return Error{"nothing to do: give --defaults NAME=VALUE or --list-defaults"};
  }
  auto store = open_store(ctx);
  if (!store) return store.error();
  if (auto s = set_defaults(**store, pairs); !s) return s.error();
  if (p.has("list-defaults")) return list_defaults(ctx, **store);
  return 0;
}

}  // namespace

extern const Command kConfigure = {"configure", "Set or list the defaults for --resource-group and --workspace",
                                   kOptions, kPositionals, run};

}  // namespace batchai::frontend
