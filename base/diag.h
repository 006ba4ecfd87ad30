// Diagnostics for programs: every line starts with the program's name, the
// way users of sbatch, mpirun and az expect to find the culprit in a log.
#pragma once

#include <string>
#include <string_view>

namespace batchai::diag {

// Set once in main(); defaults to "batchai".
void set_program(std::string_view name);
std::string_view program();

// "<program>: error: <message>" on stderr.
void error(std::string_view message);
// "<program>: warning: <message>" on stderr.
void warning(std::string_view message);
// "<program>: <message>" on stderr, for notes that are not problems.
void note(std::string_view message);

// `text` with control characters as JSON escapes ("\n", "\u001b"). Messages
// hold one problem per line, and every line above gets the program's name:
// a newline or escape sequence from a file's key or value must neither split
// a problem nor forge a line (or drive the terminal).
std::string one_line(std::string_view text);

// "line:column" (1-based) of a byte offset in `text`, for syntax errors.
std::string line_col(std::string_view text, std::size_t offset);

}  // namespace batchai::diag
