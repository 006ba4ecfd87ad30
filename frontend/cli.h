// The batchai command tree. Every command is one row: its path ("slurm
// submit"), a one-line summary, its option table and its handler. Dispatch,
// "did you mean", and every --help page are generated from these rows, so
// adding a command is one new file plus one row in commands/commands.cc.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/state.h"
#include "base/args.h"
#include "base/result.h"
#include "slurm/client.h"

namespace batchai::frontend {

// az's -o: jsonc and yamlc are json and yaml in colour where stdout is a
// terminal; none runs the command and prints nothing.
enum class OutputFormat { json, jsonc, yaml, yamlc, table, tsv, none };

class Query;  // frontend/query.h

// What a command may touch. main() wires the real things; tests wire fakes.
struct Context {
  // Connects to Slurm on first use, so commands that do not need it (help,
  // validate) work on machines without a Slurm configuration.
  std::function<Result<slurm::Client*>()> slurm;
  // Begins that connection on a second thread, for a command that will
  // surely need it, so that libslurm's set-up overlaps the command's own
  // work; `slurm` then waits for it. Empty where nothing can start early.
  std::function<void()> warm_slurm;
  // The state database (workspaces, experiments, jobs, defaults), opened on
  // first use, so commands that keep no state never create one.
  std::function<Result<state::Store*>()> store;
  // The directory of that database (state.db), which `batchai state
  // rebuild` replaces; empty where the context has none.
  std::string state_dir;
  std::ostream* out = nullptr;
  // Whether `out` is a terminal: -o jsonc and yamlc colour only then.
  bool out_is_tty = false;
  OutputFormat format = OutputFormat::json;
  // The global --query, parsed before the command runs; emit() applies it.
  std::shared_ptr<const Query> query;
  // Polling commands sleep through this, so tests need not wait in real time.
  std::function<void(std::chrono::milliseconds)> sleep;
  // The caller's environment ("NAME=value"), which submitted jobs inherit
  // as sbatch's default --export=ALL does.
  std::vector<std::string> environment;

  // The value of NAME in `environment`, if set.
  std::optional<std::string> getenv(std::string_view name) const;
};

struct Command {
  std::string_view path;
  std::string_view summary;
  std::span<const args::Option> options;
  std::span<const args::Positional> positionals;
  // The exit status on success (job wait returns the job's exit code); an
  // Error becomes "batchai: error: <message>" and status 1.
  Result<int> (*run)(Context& ctx, const args::Parsed& parsed);
};

struct Group {
  std::string_view path;
  std::string_view summary;
};

// The tables (commands/commands.cc).
std::span<const Command* const> commands();
std::span<const Group> groups();

// Options every command accepts.
std::span<const args::Option> global_options();

// Runs one command line (without the program name). Writes results to
// ctx.out and help to `help_out`; returns the exit status. Errors go to
// stderr through diag.
int run(std::span<const std::string> argv, Context& ctx, std::ostream& help_out);

}  // namespace batchai::frontend
