// Reading a JSON file format (job.json, site.json) in one pass. Each read
// names the value's JSON path, checks its type and records every problem
// instead of stopping at the first, so the user fixes a file in one round.
// Both formats read through this one class, so a check added here (such as
// refusing NUL characters) holds for both.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace batchai {

// What a key the format does not know is. Batch AI ignored unknown job.json
// keys, so job.json warns unless --strict; a site file refuses them, since a
// misspelt key there would silently fall back to a default.
enum class UnknownKeys { error, warn };

// Which values of another JSON type than a field's are converted rather
// than refused. `az batchai job create` sent job.json through its Python
// SDK (msrest), which converted them before the service saw the file, so
// job files written for az rely on it (`"value": 10`, `"nodeCount": "2"`):
//   - a string field takes a number or true/false, spelt as Python's str()
//     spells it (10 -> "10", 1e-05 -> "1e-05", 2.0 -> "2.0", true ->
//     "True"): msrest's str conversion is str(value), so that is the text
//     the job ran with under Batch AI, bools included;
//   - an integer field takes a string holding a decimal integer ("2",
//     " +2 ", as Python's int() reads it) and a number with no fraction
//     (2.0). msrest's int() also truncated 2.5 to 2 and read true as 1; those
//     stay errors, since they silently change the job or are a mistake.
// Objects and arrays stay errors for string fields (msrest would have sent
// their Python repr, which no job means). Only job.json is read with
// az_sdk: a site.json was never sent through az, and a misspelt value there
// should be refused, not reinterpreted.
enum class Conversions { none, az_sdk };

class JsonReader {
 public:
  // `file` names the file in every message. A warning about an unknown key
  // ends with "; <ignored_note>".
  JsonReader(std::string file, UnknownKeys unknown_keys, Conversions conversions,
             std::string ignored_note = "ignored");

  // One line each: "<file>: <path>: <problem>".
  std::vector<std::string> errors, warnings;

  void error(const std::string& path, const std::string& message);
  // A message that already starts with its path.
  void located(const std::string& message);

  // Every error, one per line, or OK when there is none.
  Status status() const;

  // A value as a message shows it: objects and arrays by kind, the rest as
  // JSON (so strings appear quoted and escaped).
  static std::string describe(const boost::json::value& v);
  // "<path>.<key>", or "<key>" at the top of a file whose paths start bare.
  static std::string join(const std::string& path, std::string_view key);

  // Reports each key of `o` not in `known`, with the nearest known key as a
  // did-you-mean.
  void check_keys(const boost::json::object& o, const std::string& path, std::span<const std::string_view> known);
  void check_keys(const boost::json::object& o, const std::string& path,
                  std::initializer_list<std::string_view> known) {
    check_keys(o, path, std::span(known.begin(), known.size()));
  }

  // The value at `key`, or null when it is absent or JSON null ("not given",
  // as in the Azure SDK). A required one that is not given is an error.
  const boost::json::value* field(const boost::json::object& o, const std::string& path, std::string_view key,
                                  bool required);

  // Each read below returns nothing (having recorded why) when the value is
  // not given or has the wrong type.

  // A string (or, with Conversions::az_sdk, a number or bool as text). NUL
  // is refused: values end up in job scripts, which libslurm takes as C
  // strings, where a NUL would silently cut the script short.
  std::optional<std::string> str(const boost::json::object& o, const std::string& path, std::string_view key,
                                 bool required = false);
  // A string, empty when not given; a required one must not be empty (for
  // fields that name a command or a path).
  std::string text(const boost::json::object& o, const std::string& path, std::string_view key,
                   bool required = false);
  // An integer in [min, max] (or, with Conversions::az_sdk, a string or a
  // whole number that holds one); `expected` says the range in the message.
  std::optional<std::int64_t> integer(const boost::json::object& o, const std::string& path, std::string_view key,
                                      std::int64_t min, std::int64_t max, const std::string& expected,
                                      bool required = false);
  // A count of nodes or processes: 1 to 2^31-1.
  std::optional<std::int64_t> count(const boost::json::object& o, const std::string& path, std::string_view key,
                                    bool required = false);
  std::optional<bool> boolean(const boost::json::object& o, const std::string& path, std::string_view key);
  const boost::json::object* object(const boost::json::object& o, const std::string& path, std::string_view key,
                                    bool required = false);

  // Calls each(element_object, element_path) for every element of an array
  // of objects.
  template <class F>
  void objects(const boost::json::object& o, const std::string& path, std::string_view key, F each) {
    const boost::json::value* v = field(o, path, key, false);
    if (!v) return;
    const std::string where = join(path, key);
    if (!v->is_array()) {
      error(where, "expected an array, got " + describe(*v));
      return;
    }
    const boost::json::array& a = v->get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      if (!a[i].is_object()) {
        error(at, "expected an object, got " + describe(a[i]));
        continue;
      }
      each(a[i].get_object(), at);
    }
  }

 private:
  std::string file_;
  UnknownKeys unknown_keys_;
  Conversions conversions_;
  std::string ignored_note_;
};

// A JSON number or bool as Python's str() prints what json.load made of it:
// integers in full, floats in repr's shortest round-trip form ("1.5",
// "1e-05", "2.0", "1e+16"), bools as "True"/"False". Nothing for other
// values, or for a float past double's range.
std::optional<std::string> python_str(const boost::json::value& v);

// The integer a string holds as Python's int() reads it: optional ASCII
// whitespace around an optional sign and decimal digits (not the '_'
// separators int() also takes, which no count in a job.json needs). Nothing
// when it holds anything else or does not fit 64 bits.
std::optional<std::int64_t> python_int(std::string_view s);

// Parses JSON text. A syntax error reads "<file>:<line>:<column>: invalid
// JSON: <what>". `relaxed` allows // comments and trailing commas, for files
// an admin writes by hand.
Result<boost::json::value> parse_json(std::string_view text, std::string_view file, bool relaxed = false);

}  // namespace batchai
