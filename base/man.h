// Manual pages in roff (man(7)) from the same option tables the parsers
// use, so a manual lists exactly what a program accepts.
#pragma once

#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/args.h"

namespace batchai::man {

// Text as roff shows it: backslashes escaped, minus signs as \-, and a
// line that would start with a control character made plain.
std::string roff(std::string_view text);

// A .TP entry per option: its flags, its value and its help.
void options(std::ostringstream& out, std::span<const args::Option> table);

// The page of a program with one option table.
struct Page {
  std::string_view name;      // "batchai-train"
  int section = 1;            // 1: user commands; 8: administration
  std::string_view summary;   // the NAME line after the dash
  std::string_view synopsis;  // roff: "\fBbatchai-train\fR [\fIoptions\fR]"
  std::vector<std::string_view> description;  // paragraphs, plain text
  std::span<const args::Option> options;
  std::span<const args::Positional> positionals;
  std::vector<std::pair<std::string_view, std::string_view>> environment;  // name, plain text
  std::string_view exit_status;
  std::string_view see_also;  // roff
};

std::string page(const Page& p);

}  // namespace batchai::man
