// batchai completion bash: a bash completion script generated from the
// command table, the same rows that dispatch and --help come from, so a
// new command or option completes without anyone editing a script.
//
//   source <(batchai completion bash)
//
// The installed copy is share/bash-completion/completions/batchai, where
// bash-completion finds it on its own. It works under `set -u` too.
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "frontend/cli.h"
#include "slurm/shell_quote.h"

namespace batchai::frontend {
namespace {

constexpr args::Positional kPositionals[] = {{"SHELL", "bash (the only one so far)"}};

// "cluster node list" -> {"cluster node", "list"}.
std::pair<std::string, std::string> split_last(std::string_view path) {
  const auto space = path.rfind(' ');
  if (space == std::string_view::npos) return {"", std::string(path)};
  return {std::string(path.substr(0, space)), std::string(path.substr(space + 1))};
}

std::string option_words(std::span<const args::Option> options) {
  std::string words;
  for (const auto& o : options) {
    words += (words.empty() ? "--" : " --") + std::string(o.name);
    if (o.short_name) words += std::string(" -") + o.short_name;
  }
  return words;
}

std::string bash_script() {
  std::map<std::string, std::set<std::string>> children;  // path -> next words
  for (const auto& g : groups()) {
    auto [parent, last] = split_last(g.path);
    children[parent].insert(last);
  }
  std::map<std::string, std::string> options;  // command path -> its options
  for (const Command* c : commands()) {
    auto [parent, last] = split_last(c->path);
    children[parent].insert(last);
    options[std::string(c->path)] = option_words(c->options);
  }
  std::ostringstream s;
  s << "# bash completion for batchai, generated from its command table by\n"
    << "# `batchai completion bash`; regenerate rather than edit.\n"
    << "_batchai() {\n"
    << "  local -A next=(\n";
  for (const auto& [path, words] : children) {
    std::string list;
    for (const auto& w : words) list += (list.empty() ? "" : " ") + w;
    s << "    [" << slurm::shell_quote(path.empty() ? "." : path) << "]=" << slurm::shell_quote(list) << "\n";
  }
  s << "  )\n"
    << "  local -A options=(\n";
  for (const auto& [path, words] : options) {
    s << "    [" << slurm::shell_quote(path) << "]=" << slurm::shell_quote(words) << "\n";
  }
  s << "  )\n"
    << "  local global=" << slurm::shell_quote(option_words(global_options())) << "\n"
    // The command is the longest run of words that names a group or a
    // command, as the parser reads it; option values are not words of it.
    << "  local cur=${COMP_WORDS[COMP_CWORD]-} path= i w\n"
    << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
    << "    w=${COMP_WORDS[i]}\n"
    << "    [[ $w == -* ]] && continue\n"
    << "    if [[ \" ${next[${path:-.}]-} \" == *\" $w \"* ]]; then\n"
    << "      path=${path:+$path }$w\n"
    << "    fi\n"
    << "  done\n"
    << "  if [[ $cur == -* ]]; then\n"
    << "    COMPREPLY=($(compgen -W \"${options[${path:-.}]-} $global\" -- \"$cur\"))\n"
    << "  elif [[ -n ${next[${path:-.}]+x} ]]; then\n"
    << "    COMPREPLY=($(compgen -W \"${next[${path:-.}]-}\" -- \"$cur\"))\n"
    << "  else\n"
    << "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    << "  fi\n"
    << "}\n"
    << "complete -F _batchai batchai\n";
  return s.str();
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  const std::string shell = p.positionals().front();
  if (shell != "bash") return Error{"SHELL: expected bash, got '" + shell + "'"};
  *ctx.out << bash_script();
  return 0;
}

}  // namespace

extern const Command kCompletion = {"completion", "Print a shell completion script: source <(batchai completion bash)",
                                    {}, kPositionals, run};

}  // namespace batchai::frontend
