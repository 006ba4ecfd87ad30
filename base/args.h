// Command-line options from one table: the parser and the help text are both
// generated from the same `Option` rows, so they cannot drift apart.
//
// Rules: long options are `--name VALUE` or `--name=VALUE`; short ones `-n
// VALUE`; flags take no value; `--` ends options. Unknown options and bad
// values are errors that name the flag (with a did-you-mean suggestion), and
// so is a required option left out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace batchai::args {

struct Option {
  std::string_view name;        // long name without dashes, e.g. "nodes"
  char short_name = 0;          // e.g. 'N'; 0 for none
  std::string_view value_name;  // e.g. "N"; empty for a flag
  std::string_view help;        // one line; help and man pages add "(required)"
  bool repeatable = false;      // may be given more than once
  // parse() fails unless the option is given with a non-empty value. Only
  // for options needed on every call: one that a default or another option
  // can stand in for is checked by its command.
  bool required = false;
  // Takes one value or more: every following word up to the next that
  // starts with '-' (az's nargs='+', so `--ids $(... -o tsv)` works).
  bool many = false;
  // With `required`: another option that may stand in for this one ("ids"
  // for "name"); parse() then wants one of the two, and help says "(required,
  // or --ids)".
  std::string_view unless = {};
};

// `option`, required: a table row reads args::required({"name", 'n', ...}).
constexpr Option required(Option option) {
  option.required = true;
  return option;
}

// `option`, required unless `other` is given: -n NAME or --ids ID...
constexpr Option required_unless(Option option, std::string_view other) {
  option.required = true;
  option.unless = other;
  return option;
}

// `option`, taking one value or more.
constexpr Option many(Option option) {
  option.many = true;
  return option;
}

struct Positional {
  std::string_view name;  // e.g. "SCRIPT"
  std::string_view help;
  bool required = true;
};

class Parsed {
 public:
  bool has(std::string_view name) const { return values_.contains(std::string(name)); }
  // The value of a valued option (the last one if repeated).
  std::optional<std::string> get(std::string_view name) const;
  // Every value of a repeatable or `many` option, in order.
  std::vector<std::string> all(std::string_view name) const;
  // An integer option within [min, max]; absent gives std::nullopt. The error
  // names the flag and the value, e.g. "--nodes: expected an integer from 1
  // to 64, got 'four'".
  Result<std::optional<std::int64_t>> get_int(std::string_view name, std::int64_t min, std::int64_t max) const;

  const std::vector<std::string>& positionals() const { return positionals_; }

  // Used by the parser.
  void add(std::string name, std::string value) { values_[std::move(name)].push_back(std::move(value)); }
  void add_positional(std::string value) { positionals_.push_back(std::move(value)); }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positionals_;
};

// Parses `argv` (without the program or command words) against the options
// and positionals. `extra_positionals` allows trailing arguments beyond the
// table (for commands that pass a command line through). A required option
// missing or empty fails as "--name: required (<its help>)", for the first
// such option of the table.
Result<Parsed> parse(std::span<const std::string> argv, std::span<const Option> options,
                     std::span<const Positional> positionals, bool extra_positionals = false);

// Help text: "usage: <usage_line>", the summary, then one aligned row per
// positional and option, required ones marked "(required)".
std::string help(std::string_view usage_line, std::string_view summary, std::span<const Option> options,
                 std::span<const Positional> positionals);

// "--nodes N" / "-N, --nodes N" as it appears in help and messages.
std::string spelling(const Option& option);

// "-n NAME", else "--min N": how a usage line shows a required option
// ("--ids ID [ID ...]" for a `many` one).
std::string usage_form(const Option& option);

// The required options of a usage line, each after a space: "-n NAME --min
// N"; those that one other option may stand in for are grouped with it:
// "(-e NAME -n NAME | --ids ID [ID ...])".
std::string usage_options(std::span<const Option> options);

// The option's help with " (required)" added when it is: what help and man
// pages show for it.
std::string help_text(const Option& option);

// Integer parsing with full-consumption and range checks; the error says what
// was expected and names `what` (a flag, a JSON path).
Result<std::int64_t> parse_int(std::string_view text, std::int64_t min, std::int64_t max, std::string_view what);

}  // namespace batchai::args
