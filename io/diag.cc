#include "io/diag.h"

#include <cstdio>
#include <string>

namespace batchai::diag {
namespace {
std::string& program_name() {
  static std::string name = "batchai";
  return name;
}

void emit(std::string_view kind, std::string_view message) {
  // One fprintf per line so that lines from several ranks or threads do not
  // interleave mid-line.
  std::string line(program_name());
  line += ": ";
  line += kind;
  line += message;
  line += '\n';
  std::fputs(line.c_str(), stderr);
}
}  // namespace

void set_program(std::string_view name) { program_name() = std::string(name); }
std::string_view program() { return program_name(); }
void error(std::string_view message) { emit("error: ", message); }
void warning(std::string_view message) { emit("warning: ", message); }
void note(std::string_view message) { emit("", message); }

}  // namespace batchai::diag
