// Numbers as az prints them: a table of --query expressions whose results
// are compared, as text and byte for byte, with what Python's json.dumps
// and str() make of the reference jmespath's results (az runs both), and
// fixed rows that hold without Python.
#include "frontend/pynum.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/cli.h"
#include "frontend/output.h"
#include "frontend/query.h"
#include "unit/python_oracle.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

std::string nested(int depth, const std::string& inner) {
  return std::string(static_cast<std::size_t>(depth), '[') + inner + std::string(static_cast<std::size_t>(depth), ']');
}

// What we print for an expression on null: compact (to_string(), cells'
// nested values), indented (-o json) and, for a number, str() (table and
// tsv cells); or the error.
struct Printed {
  std::string compact, indented, str;
};

Printed ours(const std::string& expression) {
  auto q = parse_query(expression);
  if (!q) return {"error: " + q.error().message, "", ""};
  auto r = apply(*q, nullptr);
  if (!r) return {"error: " + r.error().message, "", ""};
  return {compact_json(*r), pretty_json(*r), pynum::is_number(*r) ? pynum::str(*r) : ""};
}

std::vector<std::string> table() {
  std::vector<std::string> t;
  for (int k = -7; k <= 17; ++k) {
    for (const char* m : {"1", "1.5", "-1.5", "1.2345678901234567"}) t.push_back("`" + std::string(m) + "e" + std::to_string(k) + "`");
  }
  const std::string kRows[] = {
      // 2^53 ± 1 as ints and as floats; 2^63, 2^64, 2^70; past both ends of 64 bits.
      "`9007199254740991`", "`9007199254740992`", "`9007199254740993`", "`-9007199254740993`",
      "`9007199254740991.0`", "`9007199254740992.0`", "`9007199254740993.0`", "`-9007199254740993.0`",
      "`9223372036854775807`", "`9223372036854775808`", "`-9223372036854775808`", "`-9223372036854775809`",
      "`9223372036854775808.0`", "`9.223372036854776e18`", "`18446744073709551615`", "`18446744073709551616`",
      "`-18446744073709551616`", "`18446744073709551616.0`", "`1180591620717411303424`",
      "`123456789012345678901234567890123456789`", "`-000`", "`[1, 18446744073709551616, -0.0]`",
      R"(`{"b": 18446744073709551616, "a": [1e-7, 1e16]}`)",
      // Zero, rounding, the ends of the double range.
      "`-0`", "`-0.0`", "`0.0`", "`0.1`", "`0.30000000000000004`", "sum(`[0.1, 0.2]`)", "`1e+301`",
      "`1.7976931348623157e308`", "`5e-324`", "`1E400`", "`-1E400`", "`1e-400`", "`-1e-400`",
      "`2.5`", "`100`", "`123456789.123456789`",
      // sum() and avg(): ints exact at any size, then floats in order.
      "sum(`[9223372036854775807, 1]`)", "sum(`[18446744073709551615, 1]`)", "sum(`[-9223372036854775808, -1]`)",
      "sum(`[18446744073709551616, -18446744073709551616]`)", "sum(`[18446744073709551616, 0.5]`)",
      "sum(`[9007199254740992, 1, 1.0]`)", "sum(`[1.0, 9007199254740993]`)", "sum(`[-0.0]`)", "sum(`[]`)",
      "sum(`[1e308, 1e308, -1e308]`)", "avg(`[9223372036854775807, 1]`)",
      "avg(`[18446744073709551616, 18446744073709551617]`)", "avg(`[9007199254740992, 1, 1]`)",
      "avg(`[0.1, 0.2, 0.3]`)", "avg(`[1, 2]`)",
      // The other functions that make or take numbers.
      "abs(`-18446744073709551616`)", "abs(`-9223372036854775808`)", "abs(`-0.0`)", "abs(`-0`)",
      "ceil(`1e20`)", "floor(`-1.5e19`)", "ceil(`-0.5`)", "floor(`1e300`)", "ceil(`18446744073709551616`)",
      "ceil(`2.5`)", "to_number('123456789012345678901234')", "to_number('-0')", "to_number('1e-5')",
      "to_number('1E400')", "to_number('-18446744073709551616')", "to_number('0.1')",
      "to_string(`1e-5`)", "to_string(`18446744073709551616`)", "to_string(`[1e16, -0.0, 1e15]`)",
      "type(`18446744073709551616`)", "max(`[18446744073709551616, 1e19, 18446744073709551617]`)",
      "min(`[-18446744073709551616, -1e19, -18446744073709551617]`)",
      "sort(`[18446744073709551617, 1.8446744073709552e19, 18446744073709551615, -18446744073709551617]`)",
      "contains(`[18446744073709551616]`, `18446744073709551616.0`)",
      "`18446744073709551616` > `18446744073709551615`", "`9007199254740993` > `9007199254740992.0`",
      "`18446744073709551616` == `18446744073709551616.0`", "`18446744073709551617` == `18446744073709551616.0`",
      "`1e400` > `123456789012345678901234567890`", "`-9223372036854775809` < `-9223372036854775808`",
      "[`1e-7`, `18446744073709551616`, `-0.0`][?@ > `0`]", "{a: `1e16`, b: `[18446744073709551616]`}",
      // Literals deeper than Boost's default of 32.
      "length(`" + nested(33, "") + "`)", "length(`" + nested(40, "") + "`)", "`" + nested(40, "1e-5") + "`",
      "length(`" + nested(512, "") + "`)",
  };
  t.insert(t.end(), std::begin(kRows), std::end(kRows));
  return t;
}

// What Python makes of each expression, as az does it.
constexpr const char* kPython = R"(import json, sys, jmespath
out = []
for e in json.load(open(sys.argv[1])):
    try:
        r = jmespath.search(e, None)
        out.append([json.dumps(r, separators=(",", ":")), json.dumps(r, indent=2, ensure_ascii=False, sort_keys=True),
                    str(r) if type(r) in (int, float) else ""])
    except Exception as x:
        out.append(["error: " + type(x).__name__, "", ""])
print(json.dumps(out))
)";

TEST(Pynum, TableMatchesPythonJsonAndJmespathByteForByte) {
  if (std::system("python3 -c 'import jmespath' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 cannot import jmespath (share/batchai/setup-deps installs it)";
  }
  const std::vector<std::string> rows = table();
  json::array cases;
  for (const auto& e : rows) cases.push_back(json::string(e));
  std::string error;
  const json::value results = batchai::testing::run_python(kPython, cases, "", error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(results.as_array().size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& py = results.as_array()[i].as_array();
    const Printed got = ours(rows[i]);
    EXPECT_EQ(got.compact, py[0].as_string()) << rows[i];
    if (got.compact.starts_with("error: ")) continue;
    EXPECT_EQ(got.indented, py[1].as_string()) << rows[i];
    EXPECT_EQ(got.str, py[2].as_string()) << rows[i];
  }
}

// The same spellings without Python, so a box without jmespath still checks them.
TEST(Pynum, FixedSpellings) {
  const std::pair<std::string, std::string> kRows[] = {
      {"`1e-7`", "1e-07"},
      {"`1.5e-5`", "1.5e-05"},
      {"`1e-4`", "0.0001"},
      {"`0.1`", "0.1"},
      {"`3`", "3"},
      {"`3.0`", "3.0"},
      {"`1e15`", "1000000000000000.0"},
      {"`1e16`", "1e+16"},
      {"`1.5e16`", "1.5e+16"},
      {"`123456789012345678.0`", "1.2345678901234568e+17"},
      {"`9007199254740993`", "9007199254740993"},
      {"`9007199254740993.0`", "9007199254740992.0"},
      {"`9223372036854775808`", "9223372036854775808"},
      {"`18446744073709551616`", "18446744073709551616"},
      {"`-18446744073709551617`", "-18446744073709551617"},
      {"`-0`", "0"},
      {"`-0.0`", "-0.0"},
      {"sum(`[0.1, 0.2]`)", "0.30000000000000004"},
      {"`1E400`", "Infinity"},
      {"`-1E400`", "-Infinity"},
      {"`1e-400`", "0.0"},
      {"sum(`[9223372036854775807, 1]`)", "9223372036854775808"},
      {"sum(`[18446744073709551616, -18446744073709551615]`)", "1"},
      {"avg(`[9223372036854775807, 1]`)", "4.611686018427388e+18"},
      {"abs(`-18446744073709551616`)", "18446744073709551616"},
      {"ceil(`1e20`)", "100000000000000000000"},
      {"ceil(`-0.5`)", "0"},
      {"to_number('123456789012345678901234')", "123456789012345678901234"},
      {"to_string(`1e-5`)", R"("1e-05")"},
      {"type(`18446744073709551616`)", R"("number")"},
      {"`9007199254740993` > `9007199254740992.0`", "true"},
      {"`[18446744073709551616]` == `[18446744073709551616.0]`", "true"},
      {"length(`" + nested(33, "") + "`)", "1"},
      {"length(`" + nested(40, "") + "`)", "1"},
      {"length(`" + nested(512, "") + "`)", "1"},
      {"`" + nested(2, "18446744073709551616") + "`", "[[18446744073709551616]]"},
  };
  for (const auto& [expression, expected] : kRows) EXPECT_EQ(ours(expression).compact, expected) << expression;
}

TEST(Pynum, BigIntsAreNumbersNotObjects) {
  EXPECT_EQ(ours("length(`18446744073709551616`)").compact,
            "error: --query: at 0: length() expected a string, an array or an object as argument 1, got a number");
  EXPECT_EQ(ours("keys(`18446744073709551616`)").compact,
            "error: --query: at 0: keys() expected an object as argument 1, got a number");
  EXPECT_EQ(ours("`18446744073709551616`.*").compact, "null");
  EXPECT_EQ(ours("`18446744073709551616` == `{}`").compact, "false");
  EXPECT_EQ(pretty_json(json::value(pynum::make_int("-123456789012345678901"))), "-123456789012345678901");
  EXPECT_TRUE(pynum::make_int("9223372036854775807").is_int64());
  EXPECT_TRUE(pynum::make_int("-9223372036854775808").is_int64());
  EXPECT_TRUE(pynum::make_int("18446744073709551615").is_uint64());
  EXPECT_TRUE(pynum::is_bigint(pynum::make_int("18446744073709551616")));
  EXPECT_TRUE(pynum::is_bigint(pynum::make_int("-9223372036854775809")));
  EXPECT_EQ(pynum::exact_int(std::ldexp(1.0, 70)), pynum::make_int("1180591620717411303424"));
  EXPECT_EQ(pynum::to_double(pynum::make_int("9007199254740993")), 9007199254740992.0);
  EXPECT_EQ(pynum::to_double(pynum::make_int("9007199254740995")), 9007199254740996.0);  // halfway: to even
}

// Deeper than the literal limit: a clear error, never the bare-string reading.
TEST(Pynum, ALiteralPastTheDepthLimitIsRefused) {
  EXPECT_EQ(ours("length(`" + nested(513, "") + "`)").compact,
            "error: --query: at 7: expected a literal nested at most 512 levels deep");
  EXPECT_EQ(ours("`" + nested(600, "1") + "`").compact,
            "error: --query: at 0: expected a literal nested at most 512 levels deep");
  // Text that is not JSON is still the bare string it always was.
  EXPECT_EQ(ours("`foo`").compact, R"("foo")");
}

// Table and tsv cells print numbers as str() does.
TEST(Pynum, CellsUsePythonsStr) {
  std::ostringstream out;
  Context ctx;
  ctx.out = &out;
  ctx.format = OutputFormat::tsv;
  auto q = parse_query("[[`1e-5`, `1E400`, `-1E400`, `18446744073709551616`, `1e15`, `-0.0`]]");
  ASSERT_TRUE(q.ok());
  ctx.query = std::make_shared<const Query>(*q);
  ASSERT_TRUE(emit(ctx, json::object{}, {}).ok());
  EXPECT_EQ(out.str(), "1e-05\tinf\t-inf\t18446744073709551616\t1000000000000000.0\t-0.0\n");

  // A big int is a scalar column of a table, not a nested object it leaves out.
  out.str("");
  ctx.format = OutputFormat::table;
  q = parse_query("[{n: 'x', v: sum(`[9223372036854775807, 1]`)}]");
  ASSERT_TRUE(q.ok());
  ctx.query = std::make_shared<const Query>(*q);
  ASSERT_TRUE(emit(ctx, json::object{}, {}).ok());
  EXPECT_EQ(out.str(), "N  V\n-  -------------------\nx  9223372036854775808\n");
}

}  // namespace
}  // namespace batchai::frontend
