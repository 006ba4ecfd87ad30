// The global --query option: a JMESPath expression applied to a command's
// JSON result before it is printed, as az does it. Semantics follow the
// JMESPath specification and, where it is silent, the Python reference
// implementation that az runs: its operator precedence, strings ordered by
// < and >, and a backtick literal that is not JSON read as a string (`foo`,
// the form before JEP-12). Where the reference fails with a Python error
// (comparing a string with a number), the specification's null stands, and
// a slice after an index projects as every slice does (a[0][:2].b), where the
// reference forgets to. Integers stay exact at any size and mixed int-float
// comparisons are exact, as in Python (frontend/pynum.h); a literal may nest
// 512 levels deep, and a deeper one is a parse error, not a string.
//
// Parsing is separate from applying so that a bad query is reported before
// the command does anything. Unknown functions, wrong argument counts and a
// zero slice step are parse errors for the same reason; only a function
// given a value of the wrong type fails when applied.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace batchai::frontend {

class Query {
 public:
  struct Node;  // the syntax tree, private to query.cc

  // The expression as given.
  const std::string& text() const { return text_; }

 private:
  Query() = default;  // only parse_query() makes one
  friend Result<Query> parse_query(std::string_view text);
  friend Result<boost::json::value> apply(const Query& query, const boost::json::value& input);

  std::string text_;
  // Immutable once parsed, so copies share it.
  std::shared_ptr<const Node> root_;
};

// Errors are one line naming the option, the character offset and what was
// expected: "--query: at 7: expected an identifier after '.'".
Result<Query> parse_query(std::string_view text);

// The query's value on `input`; an Error only for a function given a value
// of the wrong type ("--query: at 0: length() expected a string, an array or
// an object as argument 1, got a number").
Result<boost::json::value> apply(const Query& query, const boost::json::value& input);

// One-line JSON with numbers spelled as az's json.dumps spells them: 2.5,
// 3.0, 0.0001, 1000000000000000.0, 1e+16, -0.0, NaN, and integers past 64
// bits exact (frontend/pynum.h), where Boost writes 2.5E0, 3E0, 1E-4.
// to_string() gives this; the output formats print numbers with it too.
std::string compact_json(const boost::json::value& value);

}  // namespace batchai::frontend
