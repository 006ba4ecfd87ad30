#include "base/diag.h"

#include <cstdio>
#include <string>

namespace batchai::diag {
namespace {
std::string& program_name() {
  static std::string name = "batchai";
  return name;
}

Level& current_level() {
  static Level level = Level::warning;
  return level;
}

void emit(std::string_view kind, std::string_view message) {
  // A message may hold several problems, one per line (a job.json with many
  // errors); each line gets the prefix so that grep finds every one. One
  // fputs per line keeps lines from several ranks or threads whole.
  for (;;) {
    std::size_t nl = message.find('\n');
    std::string line(program_name());
    line += ": ";
    line += kind;
    line += message.substr(0, nl);
    line += '\n';
    std::fputs(line.c_str(), stderr);
    if (nl == std::string_view::npos) break;
    message.remove_prefix(nl + 1);
  }
}
}  // namespace

void set_program(std::string_view name) { program_name() = std::string(name); }
std::string_view program() { return program_name(); }
void error(std::string_view message) { emit("error: ", message); }
void set_level(Level level) { current_level() = level; }
Level level() { return current_level(); }
void warning(std::string_view message) {
  if (current_level() >= Level::warning) emit("warning: ", message);
}
void note(std::string_view message) {
  if (current_level() >= Level::warning) emit("", message);
}
void info(std::string_view message) {
  if (current_level() >= Level::info) emit("", message);
}
void debug(std::string_view message) {
  if (current_level() >= Level::debug) emit("debug: ", message);
}

std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    }
  }
  return out;
}

std::string line_col(std::string_view text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

}  // namespace batchai::diag
