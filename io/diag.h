// Diagnostics for programs: every line starts with the program's name, the
// way users of sbatch, mpirun and az expect to find the culprit in a log.
#pragma once

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

}  // namespace batchai::diag
