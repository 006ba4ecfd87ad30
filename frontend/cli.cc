#include "frontend/cli.h"

#include <algorithm>
#include <memory>
#include <ostream>
#include <vector>

#include "frontend/debug_client.h"
#include "frontend/query.h"
#include "base/diag.h"
#include "base/spell.h"
#include "base/version.h"

namespace batchai::frontend {

std::optional<std::string> Context::getenv(std::string_view name) const {
  for (const auto& e : environment) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return e.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

namespace {

constexpr args::Option kGlobalOptions[] = {
    {"output", 'o', "FORMAT", "output format: json (default), jsonc, yaml, yamlc, table, tsv or none"},
    {"query", 0, "EXPR", "JMESPath query applied to the result, as in az (e.g. executionState, [].name)"},
    {"debug", 0, "", "also show on stderr what batchai sends to Slurm and reads from its database"},
    {"verbose", 0, "", "also show notes of progress on stderr"},
    {"only-show-errors", 0, "", "show errors only, no warnings or notes"},
    {"subscription", 0, "ID", "accepted for az scripts and ignored: a site has no subscriptions"},
    {"help", 'h', "", "show help for this command and exit"},
};

constexpr args::Option kTopOptions[] = {
    {"version", 0, "", "print version, git revision and build features, then exit"},
    {"help", 'h', "", "show this help and exit"},
};

std::string join(std::span<const std::string> words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

bool is_group(std::string_view path) {
  for (const Command* c : commands()) {
    if (c->path.size() > path.size() && c->path.starts_with(path) && c->path[path.size()] == ' ') return true;
  }
  return false;
}

const Command* find_command(std::string_view path) {
  for (const Command* c : commands()) {
    if (c->path == path) return c;
  }
  return nullptr;
}

std::string_view group_summary(std::string_view path) {
  for (const Group& g : groups()) {
    if (g.path == path) return g.summary;
  }
  return "";
}

// The words one level below `prefix` ("" for the top): subgroups and commands.
std::vector<std::pair<std::string, std::string_view>> children(std::string_view prefix) {
  std::vector<std::pair<std::string, std::string_view>> out;
  for (const Command* c : commands()) {
    std::string_view p = c->path;
    if (!prefix.empty()) {
      if (!p.starts_with(prefix) || p.size() <= prefix.size() || p[prefix.size()] != ' ') continue;
      p.remove_prefix(prefix.size() + 1);
    }
    std::string word(p.substr(0, p.find(' ')));
    if (std::any_of(out.begin(), out.end(), [&](auto& e) { return e.first == word; })) continue;
    std::string full = prefix.empty() ? word : std::string(prefix) + " " + word;
    out.emplace_back(word, find_command(full) ? find_command(full)->summary : group_summary(full));
  }
  return out;
}

std::string group_help(std::string_view path) {
  std::string name = path.empty() ? "batchai" : "batchai " + std::string(path);
  std::string out = "usage: " + name + " <command> [options]\n\n";
  out += path.empty() ? "Batch AI job.json workflows on Slurm clusters." : std::string(group_summary(path));
  out += "\n\ncommands:\n";
  auto kids = children(path);
  std::size_t width = 0;
  for (auto& [word, _] : kids) width = std::max(width, word.size());
  for (auto& [word, summary] : kids) {
    std::string left = word;
    left.resize(width, ' ');
    out += "  " + left + "  " + std::string(summary) + "\n";
  }
  if (path.empty()) {
    out += "\noptions:\n  --version   print version, git revision and build features\n"
           "  -h, --help  show help; every command and group also takes --help\n";
  }
  out += "\nRun '" + name + " <command> --help' for a command's options.\n";
  return out;
}

std::vector<args::Option> command_options(const Command& c) {
  std::vector<args::Option> all(c.options.begin(), c.options.end());
  all.insert(all.end(), std::begin(kGlobalOptions), std::end(kGlobalOptions));
  return all;
}

std::string command_help(const Command& c) {
  std::string usage = "batchai " + std::string(c.path);
  usage += args::usage_options(c.options);
  for (const auto& p : c.positionals) usage += p.required ? " " + std::string(p.name) : " [" + std::string(p.name) + "]";
  usage += " [options]";
  return args::help(usage, c.summary, command_options(c), c.positionals);
}

void print_version(std::ostream& out) {
  using namespace build;
  out << "batchai " << kVersion << " (" << kGitRevision << ")\n"
      << "features: cuda=" << (kCuda ? kCudaVersion : "no") << " nccl=" << (kNccl ? "yes" : "no")
      << " mpi=" << kMpiVersion << " libslurm=" << kSlurmVersion << "\n";
}

Error unknown_command(std::string_view prefix, std::string_view word) {
  std::vector<std::string> names;
  for (auto& [w, _] : children(prefix)) names.push_back(w);
  std::vector<std::string_view> views(names.begin(), names.end());
  std::string where = prefix.empty() ? "batchai" : "batchai " + std::string(prefix);
  std::string message = "'" + std::string(word) + "' is not a command of '" + where + "'";
  if (auto near = closest_match(word, views)) message += " (did you mean '" + *near + "'?)";
  return Error{message + "; see '" + where + " --help'"};
}

Result<OutputFormat> output_format(const args::Parsed& parsed) {
  static constexpr std::pair<std::string_view, OutputFormat> kFormats[] = {
      {"json", OutputFormat::json}, {"jsonc", OutputFormat::jsonc}, {"yaml", OutputFormat::yaml},
      {"yamlc", OutputFormat::yamlc}, {"table", OutputFormat::table}, {"tsv", OutputFormat::tsv},
      {"none", OutputFormat::none},
  };
  auto f = parsed.get("output");
  if (!f) return OutputFormat::json;
  for (const auto& [name, format] : kFormats) {
    if (*f == name) return format;
  }
  return Error{"--output: expected json, jsonc, yaml, yamlc, table, tsv or none, got '" + diag::one_line(*f) + "'"};
}

// --debug shows most, then --verbose; --only-show-errors only narrows the
// default.
diag::Level message_level(const args::Parsed& parsed) {
  if (parsed.has("debug")) return diag::Level::debug;
  if (parsed.has("verbose")) return diag::Level::info;
  if (parsed.has("only-show-errors")) return diag::Level::error;
  return diag::Level::warning;
}

// Under --debug, Slurm calls go through a DebugClient and the database's
// statements to diag::debug; both are undone when the command returns, as
// one process (a test) may run several command lines.
class DebugScope {
 public:
  explicit DebugScope(Context& ctx) : ctx_(ctx) {
    if (diag::level() < diag::Level::debug) return;
    active_ = true;
    saved_slurm_ = ctx.slurm;
    auto inner = ctx.slurm;
    auto wrapper = std::make_shared<std::unique_ptr<DebugClient>>();
    ctx.slurm = [inner, wrapper]() -> Result<slurm::Client*> {
      if (!inner) return Error{"no Slurm connection in this context"};
      auto client = inner();
      if (!client) return client.error();
      if (!*wrapper) *wrapper = std::make_unique<DebugClient>(**client);
      return wrapper->get();
    };
    state::set_sql_trace([](std::string_view sql) { diag::debug("sql: " + diag::one_line(sql)); });
  }
  ~DebugScope() {
    if (!active_) return;
    ctx_.slurm = saved_slurm_;
    state::set_sql_trace(nullptr);
  }
  DebugScope(const DebugScope&) = delete;
  DebugScope& operator=(const DebugScope&) = delete;

 private:
  Context& ctx_;
  bool active_ = false;
  std::function<Result<slurm::Client*>()> saved_slurm_;
};

}  // namespace

std::span<const args::Option> global_options() { return kGlobalOptions; }

int run(std::span<const std::string> argv, Context& ctx, std::ostream& help_out) {
  // Each command line starts from the default; one process (a test) may
  // run several.
  diag::set_level(diag::Level::warning);
  // The command is the longest run of leading words that names a group or a
  // command; everything after it is options and arguments.
  std::size_t n = 0;
  std::string path;
  while (n < argv.size() && !argv[n].starts_with("-")) {
    std::string next = path.empty() ? argv[n] : path + " " + argv[n];
    if (!find_command(next) && !is_group(next)) break;
    path = next;
    ++n;
    if (find_command(path)) break;
  }
  std::span<const std::string> rest = argv.subspan(n);

  const Command* command = find_command(path);
  if (!command) {
    // A group (or the top): only --help, --version or a subcommand may follow.
    if (!rest.empty() && !rest[0].starts_with("-")) {
      diag::error(unknown_command(path, rest[0]).message);
      return 2;
    }
    auto parsed = args::parse(rest, path.empty() ? std::span<const args::Option>(kTopOptions)
                                                 : std::span<const args::Option>(kGlobalOptions), {});
    if (!parsed) {
      diag::error(parsed.error().message + "; see '" + join(argv.first(n)) + " --help'");
      return 2;
    }
    if (parsed->has("version")) {
      print_version(help_out);
      return 0;
    }
    help_out << group_help(path);
    return parsed->has("help") ? 0 : 2;
  }

  // --help wins even over other mistakes on the same line, so look for it
  // before parsing (up to "--", after which words are arguments).
  for (const auto& a : rest) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      help_out << command_help(*command);
      return 0;
    }
  }
  auto options = command_options(*command);
  auto parsed = args::parse(rest, options, command->positionals);
  if (!parsed) {
    diag::error("batchai " + std::string(command->path) + ": " + parsed.error().message);
    return 2;
  }
  diag::set_level(message_level(*parsed));
  auto format = output_format(*parsed);
  if (!format) {
    diag::error(format.error().message);
    return 2;
  }
  ctx.format = *format;
  // Parsed before the command runs, so a mistyped query changes nothing.
  ctx.query = nullptr;
  if (auto text = parsed->get("query")) {
    auto query = parse_query(*text);
    if (!query) {
      diag::error(query.error().message);
      return 2;
    }
    ctx.query = std::make_shared<const Query>(std::move(*query));
  }
  if (parsed->has("subscription")) {
    diag::info("--subscription is accepted and ignored: a site has one set of clusters, no subscriptions");
  }
  DebugScope debug(ctx);
  auto status = command->run(ctx, *parsed);
  if (!status) {
    diag::error(status.error().message);
    return 1;
  }
  return *status;
}

}  // namespace batchai::frontend
