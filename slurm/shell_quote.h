// Quoting for the sbatch scripts the translator writes. Two kinds of text
// from a job.json end up in a script: values (names, paths, environment
// values), which must reach the program byte for byte, and the few fields
// Batch AI defined as command lines, which run as shell text. Values are
// quoted with one of these; nothing from a job is ever pasted unquoted.
#pragma once

#include <string>
#include <string_view>

namespace batchai::slurm {

// 'text' for bash: the value exactly, nothing expanded. Newlines, quotes,
// $(...) and backticks are inert.
std::string shell_quote(std::string_view text);

// "text" for bash where only $NAME and ${NAME} expand, as Batch AI expanded
// variables in paths on the node. Every other $, backtick, quote and
// backslash is escaped, so no command can run.
std::string shell_quote_expanding(std::string_view text);

}  // namespace batchai::slurm
