// Diagnostics for programs: every line starts with the program's name, the
// way users of sbatch, mpirun and az expect to find the culprit in a log.
#pragma once

#include <string>
#include <string_view>

namespace batchai::diag {

// Set once in main(); defaults to "batchai".
void set_program(std::string_view name);
std::string_view program();

// How much goes to stderr, from the global --only-show-errors, --verbose and
// --debug flags; main() or the command line sets it, library code only reads
// it. Errors always go out; warnings and notes from `warning` up (the
// default); progress notes (`info`) from `info` up; `debug` lines only at
// `debug`.
enum class Level { error, warning, info, debug };
void set_level(Level level);
Level level();

// "<program>: error: <message>" on stderr.
void error(std::string_view message);
// "<program>: warning: <message>" on stderr.
void warning(std::string_view message);
// "<program>: <message>" on stderr, for notes that are not problems.
void note(std::string_view message);
// "<program>: <message>" on stderr from Level::info up: how a command is
// getting on, for --verbose.
void info(std::string_view message);
// "<program>: debug: <message>" on stderr at Level::debug only: what batchai
// sends to Slurm and reads from its database. The caller keeps secrets and
// environment values out of it.
void debug(std::string_view message);

// `text` with control characters as JSON escapes ("\n", "\u001b"). Messages
// hold one problem per line, and every line above gets the program's name:
// a newline or escape sequence from a file's key or value must neither split
// a problem nor forge a line (or drive the terminal).
std::string one_line(std::string_view text);

// "line:column" (1-based) of a byte offset in `text`, for syntax errors.
std::string line_col(std::string_view text, std::size_t offset);

}  // namespace batchai::diag
