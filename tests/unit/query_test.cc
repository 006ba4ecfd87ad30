// --query: the JMESPath subset against a table of expressions, the same
// table against the Python reference implementation (the one az runs), exact
// parse-error messages, and what each output format prints after a query.
#include "frontend/query.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "fake_slurm.h"
#include "frontend/cli.h"
#include "frontend/output.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

// A job list and a cluster, shaped as the Batch AI commands print them.
constexpr const char* kDoc = R"({
  "jobs": [
    {"name": "a", "executionState": "running", "nodeCount": 2, "exitCode": null, "tags": ["x", "y"]},
    {"name": "b", "executionState": "succeeded", "nodeCount": 4, "exitCode": 0, "tags": []},
    {"name": "c", "executionState": "failed", "nodeCount": 1, "exitCode": 1}
  ],
  "nodeStateCounts": {"idleNodeCount": 2, "runningNodeCount": 1, "preparingNodeCount": 0},
  "a b": 1,
  "nested": {"x": {"y": {"z": "deep"}}},
  "n": [[1, 2], [3, [4, 5]], 6],
  "nums": [0, 1, 2, 3, 4, 5]
})";

struct Case {
  const char* expression;
  const char* input;  // nullptr: kDoc
  const char* expected;
  // False where the reference implementation fails on a case the
  // specification defines (it raises Python's TypeError instead).
  bool python = true;
};

const Case kCases[] = {
    // Identifiers, quoted identifiers, sub-expressions; null for what is not there.
    {"nodeStateCounts", nullptr, R"({"idleNodeCount": 2, "runningNodeCount": 1, "preparingNodeCount": 0})"},
    {"nodeStateCounts.idleNodeCount", nullptr, "2"},
    {"missing", nullptr, "null"},
    {R"("a b")", nullptr, "1"},
    {R"("nested"."x".y.z)", nullptr, R"("deep")"},
    {R"("\u0061 b")", nullptr, "1"},
    {"nested.x.y.z", nullptr, R"("deep")"},
    {"nested.q.y.z", nullptr, "null"},
    {"jobs.name", nullptr, "null"},
    {"a_1", R"({"a_1": true})", "true"},
    {"executionState", R"({"name": "job1", "executionState": "running"})", R"("running")"},
    // Index, negative index, out of range, on a non-array.
    {"jobs[0].name", nullptr, R"("a")"},
    {"jobs[-1].name", nullptr, R"("c")"},
    {"jobs[3]", nullptr, "null"},
    {"jobs[-4]", nullptr, "null"},
    {"nested[0]", nullptr, "null"},
    {"n[1][1][0]", nullptr, "4"},
    {"[0]", "[7, 8]", "7"},
    // Slices, Python's rules, and the projection a slice starts.
    {"nums[1:3]", nullptr, "[1, 2]"},
    {"nums[::2]", nullptr, "[0, 2, 4]"},
    {"nums[::-1]", nullptr, "[5, 4, 3, 2, 1, 0]"},
    {"nums[-2:]", nullptr, "[4, 5]"},
    {"nums[:-4]", nullptr, "[0, 1]"},
    {"nums[5:1:-2]", nullptr, "[5, 3]"},
    {"nums[10:]", nullptr, "[]"},
    {"nums[-10:2]", nullptr, "[0, 1]"},
    {"nums[1:100:4]", nullptr, "[1, 5]"},
    {"nums[0:1:9223372036854775807]", nullptr, "[0]"},
    {"nums[::-9223372036854775807]", nullptr, "[5]"},
    {"nested[1:2]", nullptr, "null"},
    {"jobs[0:2].name", nullptr, R"(["a", "b"])"},
    {"jobs[:2].tags[0]", nullptr, R"(["x"])"},
    {"n[1][:2][0]", nullptr, "[4]", false},  // a slice after an index projects too; the reference gives 3
    // List projections: the right side runs per element and nulls drop out.
    {"jobs[*].name", nullptr, R"(["a", "b", "c"])"},
    {"jobs[*].exitCode", nullptr, "[0, 1]"},
    {"jobs[*].tags[0]", nullptr, R"(["x"])"},
    {"jobs[*].tags[*]", nullptr, R"([["x", "y"], []])"},
    {"jobs[*]", nullptr, nullptr},  // filled in below: the jobs as they are
    {"nodeStateCounts[*]", nullptr, "null"},
    {"[*].a", R"([{"a": 1}, {"b": 2}, {"a": 3}])", "[1, 3]"},
    {"n[*][0]", nullptr, "[1, 3]"},
    // Flatten, itself a projection; a second one flattens the first's result.
    {"n[]", nullptr, "[1, 2, 3, [4, 5], 6]"},
    {"n[][]", nullptr, "[1, 2, 3, 4, 5, 6]"},
    {"jobs[].tags[]", nullptr, R"(["x", "y"])"},
    {"jobs[*].tags[]", nullptr, R"(["x", "y"])"},
    {"jobs[].name", nullptr, R"(["a", "b", "c"])"},
    {"[].a", R"([{"a": 1}, [{"a": 2}], null])", "[1, 2]"},
    {"nested[]", nullptr, "null"},
    // Object wildcards.
    {"nodeStateCounts.*", nullptr, "[2, 1, 0]"},
    {"nested.*.y", nullptr, R"([{"z": "deep"}])"},
    {"nested.*.y.z", nullptr, "null"},  // (nested.*.y).z: '.*' binds its right side as tightly as '.' does
    {"[*].y.z", R"([{"y": {"z": 1}}])", "[1]"},  // where [*] takes the whole path
    {"*.b", R"({"x": {"b": 1}, "y": {"c": 2}, "z": {"b": 3}})", "[1, 3]"},
    {"nums.*", nullptr, "null"},
    {"jobs[*].*", R"({"jobs": [{"a": 1, "b": 2}, {"c": 3}]})", "[[1, 2], [3]]"},
    // Multi-select lists and hashes; on null they are null.
    {"[jobs[0].name, nodeStateCounts.idleNodeCount]", nullptr, R"(["a", 2])"},
    {"jobs[].[name, exitCode]", nullptr, R"([["a", null], ["b", 0], ["c", 1]])"},
    {"missing.[a]", nullptr, "null"},
    {"jobs[].{name: name, state: executionState}", nullptr,
     R"([{"name": "a", "state": "running"}, {"name": "b", "state": "succeeded"}, {"name": "c", "state": "failed"}])"},
    {R"({n: missing, "a b": "a b"})", nullptr, R"({"n": null, "a b": 1})"},
    {"missing.{a: a}", nullptr, "null"},
    {"jobs[0].{name: name, first: tags[0], count: length(tags)}", nullptr, R"({"name": "a", "first": "x", "count": 2})"},
    // Filters with every comparison, && || ! and parentheses.
    {"jobs[?executionState == 'running'].name", nullptr, R"(["a"])"},
    {"jobs[?executionState != 'running'].name", nullptr, R"(["b", "c"])"},
    {"jobs[?nodeCount > `1`].name", nullptr, R"(["a", "b"])"},
    {"jobs[?nodeCount >= `2`].name", nullptr, R"(["a", "b"])"},
    {"jobs[?nodeCount < `2`].name", nullptr, R"(["c"])"},
    {"jobs[?nodeCount <= `2`].name", nullptr, R"(["a", "c"])"},
    {"jobs[?exitCode == `null`].name", nullptr, R"(["a"])"},
    {"jobs[?tags].name", nullptr, R"(["a"])"},
    {"jobs[?!tags].name", nullptr, R"(["b", "c"])"},
    {"jobs[?nodeCount > `1` && exitCode == `0`].name", nullptr, R"(["b"])"},
    {"jobs[?nodeCount == `1` || exitCode == `0`].name", nullptr, R"(["b", "c"])"},
    {"jobs[?!(nodeCount == `1` || exitCode == `0`)].name", nullptr, R"(["a"])"},
    {"jobs[?name > 'a'].name", nullptr, R"(["b", "c"])"},
    {"jobs[?name > `1`].name", nullptr, "[]", false},
    {"jobs[?@.nodeCount == `4`] | [0].name", nullptr, R"("b")"},
    {"nums[?@ > `3`]", nullptr, "[4, 5]"},
    {"n[?@ != `6`][]", nullptr, "[1, 2, 3, [4, 5]]"},
    {"nodeStateCounts[?idleNodeCount]", nullptr, "null"},
    {"[?a == `1.0`].b", R"([{"a": 1, "b": "int"}, {"a": true, "b": "bool"}])", R"(["int"])"},
    // Comparisons on their own: JSON equality, order only between numbers or strings.
    {"`1` == `1.0`", nullptr, "true"},
    {R"(`[1, {"a": 2}]` == `[1, {"a": 2}]`)", nullptr, "true"},
    {R"(`{"a": 1, "b": 2}` == `{"b": 2, "a": 1}`)", nullptr, "true"},
    {"`true` == `1`", nullptr, "false"},
    {"'a' < 'b'", nullptr, "true"},
    {"`1` < 'a'", nullptr, "null", false},
    {"`[1]` < `[2]`", nullptr, "null"},
    {"`-1` >= `-1.5`", nullptr, "true"},
    // Truthiness: only false, null, "", [] and {} are false.
    {"missing || 'default'", nullptr, R"("default")"},
    {"'' || `{}` || 'x'", nullptr, R"("x")"},
    {"`0` || 'x'", nullptr, "0"},
    {"`[]` && 'x'", nullptr, "[]"},
    {"nums && 'x'", nullptr, R"("x")"},
    {"!`0`", nullptr, "false"},
    {"!missing", nullptr, "true"},
    {"!nested", nullptr, "false"},
    {"!nested.x", nullptr, "null"},  // binds as (!nested).x, as the reference does
    // Pipes end projections; @ is the current value.
    {"jobs[*].name | [0]", nullptr, R"("a")"},
    {"jobs[*].name[0]", nullptr, "[]"},
    {"jobs[*].tags | [0]", nullptr, R"(["x", "y"])"},
    {"jobs | length(@)", nullptr, "3"},
    {"@", "[1]", "[1]"},
    {"@.nested.x.y.z", nullptr, R"("deep")"},
    {"nums[?@ > `1`] | [?@ < `4`] | @[-1]", nullptr, "3"},
    // Literals: raw strings, JSON, and the old bare-word form az still reads.
    {"'it\\'s'", nullptr, R"("it's")"},
    {"'a\\b'", nullptr, R"("a\\b")"},
    {"'a\\\\'", nullptr, R"("a\\\\")"},
    {R"(`{"k": [1, "two"]}`)", nullptr, R"({"k": [1, "two"]})"},
    {"`\"quoted\"`", nullptr, R"("quoted")"},
    {"` bare`", nullptr, R"("bare")"},
    {"`2.5`", nullptr, "2.5"},
    {"`\"a\\`b\"`", nullptr, R"("a`b")"},
    // Functions.
    {"length(jobs)", nullptr, "3"},
    {"length(nodeStateCounts)", nullptr, "3"},
    {"length('h\u00e9llo')", nullptr, "5"},
    {"length(jobs[?nodeCount > `1`])", nullptr, "2"},
    {"keys(nodeStateCounts)", nullptr, R"(["idleNodeCount", "runningNodeCount", "preparingNodeCount"])"},
    {"values(nodeStateCounts)", nullptr, "[2, 1, 0]"},
    {"sort(jobs[].nodeCount)", nullptr, "[1, 2, 4]"},
    {"sort(['b', 'a', 'C'])", nullptr, R"(["C", "a", "b"])"},
    {"sort(`[]`)", nullptr, "[]"},
    {"sort_by(jobs, &nodeCount)[].name", nullptr, R"(["c", "a", "b"])"},
    {"sort_by(jobs, &executionState)[].name", nullptr, R"(["c", "a", "b"])"},
    {"sort_by(`[{\"k\": 1, \"i\": 0}, {\"k\": 0, \"i\": 1}, {\"k\": 1, \"i\": 2}]`, &k)[].i", nullptr, "[1, 0, 2]"},
    {"max_by(jobs, &nodeCount).name", nullptr, R"("b")"},
    {"min_by(jobs, &name).name", nullptr, R"("a")"},
    {"max(jobs[].nodeCount)", nullptr, "4"},
    {"min(jobs[].name)", nullptr, R"("a")"},
    {"max(`[]`)", nullptr, "null"},
    {"sum(jobs[].nodeCount)", nullptr, "7"},
    {"sum(`[1, 2.5]`)", nullptr, "3.5"},
    {"avg(jobs[].nodeCount)", nullptr, "2.3333333333333335"},
    {"avg(`[]`)", nullptr, "null"},
    {"abs(`-3`)", nullptr, "3"},
    {"abs(`-2.5`)", nullptr, "2.5"},
    {"ceil(`1.2`)", nullptr, "2"},
    {"floor(`-1.2`)", nullptr, "-2"},
    {"reverse(nums[:3])", nullptr, "[2, 1, 0]"},
    {"reverse('abc')", nullptr, R"("cba")"},
    {"join(', ', jobs[].name)", nullptr, R"("a, b, c")"},
    {"contains(jobs[].name, 'b')", nullptr, "true"},
    {"contains('running', 'nn')", nullptr, "true"},
    {"contains(nums, `1.0`)", nullptr, "true"},
    {"starts_with('running', 'run')", nullptr, "true"},
    {"ends_with('running', 'run')", nullptr, "false"},
    {"jobs[?starts_with(executionState, 'succ')].name", nullptr, R"(["b"])"},
    {"not_null(missing, jobs[0].exitCode, 'x')", nullptr, R"("x")"},
    {"to_array('a')", nullptr, R"(["a"])"},
    {"to_array(nums[:1])", nullptr, "[0]"},
    {"to_number('12')", nullptr, "12"},
    {"to_number('-1.5e1')", nullptr, "-15.0"},
    {"to_number('x')", nullptr, "null"},
    {"to_number(`true`)", nullptr, "null"},
    {"to_string(`[1, 2.5, \"a\"]`)", nullptr, R"("[1,2.5,\"a\"]")"},
    {"to_string('a')", nullptr, R"("a")"},
    {"[type(`1`), type('a'), type(nums), type(nested), type(`null`), type(`false`)]", nullptr,
     R"(["number", "string", "array", "object", "null", "boolean"])"},
    {"map(&name, jobs)", nullptr, R"(["a", "b", "c"])"},
    {"map(&exitCode, jobs)", nullptr, "[null, 0, 1]"},
    {R"(merge(nodeStateCounts, `{"idleNodeCount": 9, "x": 1}`))", nullptr,
     R"({"idleNodeCount": 9, "runningNodeCount": 1, "preparingNodeCount": 0, "x": 1})"},
    // Whitespace anywhere between tokens.
    {" jobs [? nodeCount  >  `1` ] . { n : name } ", nullptr, R"([{"n": "a"}, {"n": "b"}])"},
};

json::value input_of(const Case& c) { return json::parse(c.input ? c.input : kDoc); }

json::value expected_of(const Case& c) {
  if (c.expected) return json::parse(c.expected);
  return input_of(c).at("jobs");
}

// Equality that Python's output can meet: numbers by value whatever their
// spelling (3 and 3.0), objects in key order (az prints them in that order).
bool same(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_double() || b.is_double()) return a.to_number<double>() == b.to_number<double>();
    return a == b || (a.is_int64() && b.is_uint64() && a.get_int64() >= 0 &&
                      static_cast<std::uint64_t>(a.get_int64()) == b.get_uint64()) ||
           (a.is_uint64() && b.is_int64() && b.get_int64() >= 0 &&
            static_cast<std::uint64_t>(b.get_int64()) == a.get_uint64());
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
      if (i->key() != j->key() || !same(i->value(), j->value())) return false;
    }
    return true;
  }
  return a == b;
}

json::value evaluate(const std::string& expression, const json::value& input) {
  auto q = parse_query(expression);
  EXPECT_TRUE(q.ok()) << expression << ": " << q.error().message;
  if (!q) return nullptr;
  auto r = apply(*q, input);
  EXPECT_TRUE(r.ok()) << expression << ": " << r.error().message;
  return r ? *r : json::value(nullptr);
}

TEST(Query, EveryFeatureAgainstTheTable) {
  for (const Case& c : kCases) {
    json::value got = evaluate(c.expression, input_of(c));
    EXPECT_TRUE(same(got, expected_of(c))) << c.expression << "\n  got:      " << json::serialize(got)
                                           << "\n  expected: " << json::serialize(expected_of(c));
  }
}

// The same table through the reference implementation (PyPI's jmespath, the
// package az uses), so "as in az" is checked, not assumed.
TEST(Query, AgreesWithThePythonReferenceImplementation) {
  if (std::system("python3 -c 'import jmespath' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 cannot import jmespath (share/batchai/setup-deps installs it)";
  }
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  json::array cases;
  for (const Case& c : kCases) cases.push_back(json::object{{"e", c.python ? c.expression : "@"}, {"i", input_of(c)}});
  std::string path = dir.file("cases.json");
  std::ofstream(path) << json::serialize(cases);
  std::string command =
      "python3 -c 'import json, sys, jmespath; "
      "print(json.dumps([jmespath.search(c[\"e\"], c[\"i\"]) for c in json.load(open(sys.argv[1]))]))' " +
      path + " 2>&1";
  std::string text;
  FILE* p = ::popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << text;
  std::error_code ec;
  json::value results = json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  ASSERT_EQ(results.as_array().size(), std::size(kCases));
  for (std::size_t i = 0; i < std::size(kCases); ++i) {
    const Case& c = kCases[i];
    if (!c.python) continue;
    json::value ours = evaluate(c.expression, input_of(c));
    EXPECT_TRUE(same(ours, results.as_array()[i])) << c.expression << "\n  ours:   " << json::serialize(ours)
                                                   << "\n  python: " << json::serialize(results.as_array()[i]);
  }
}

std::string parse_error(const std::string& expression) {
  auto q = parse_query(expression);
  return q ? "(parsed)" : q.error().message;
}

TEST(Query, ParseErrorsNameTheOffsetAndWhatWasExpected) {
  const std::pair<const char*, const char*> kErrors[] = {
      {"nested.", "--query: at 7: expected an identifier after '.'"},
      {"nested.1", "--query: at 7: expected an identifier after '.'"},
      {"", "--query: at 0: expected an expression"},
      {"   ", "--query: at 3: expected an expression"},
      {"a[", "--query: at 2: expected an index, a slice, '*' or '?' after '['"},
      {"a[b]", "--query: at 2: expected an index, a slice, '*' or '?' after '['"},
      {"a[0", "--query: at 3: expected ']' after the index"},
      {"a[*", "--query: at 3: expected ']' after '[*'"},
      {"a[1:2:3:4]", "--query: at 7: expected ']' after the slice's step"},
      {"a[1 2]", "--query: at 4: expected ']' after the index"},
      {"a[1:2 3]", "--query: at 6: expected ':' or ']' in the slice"},
      {"a[::0]", "--query: at 4: expected a slice step other than 0"},
      {"a[:b]", "--query: at 3: expected a number, ':' or ']' in the slice"},
      {"[a, b", "--query: at 5: expected ',' or ']'"},
      {"{a b}", "--query: at 3: expected ':' after the key"},
      {"{`1`: a}", "--query: at 1: expected an identifier as a key in '{'"},
      {"{a: b c}", "--query: at 6: expected ',' or '}'"},
      {"a = b", "--query: at 2: expected '==' (a single '=' is not an operator)"},
      {"a[?b == 1]", "--query: at 8: expected an expression (a number is written as a literal: `1`)"},
      {"a[?b", "--query: at 4: expected ']' to close the filter"},
      {"a b", "--query: at 2: expected an operator or the end of the query"},
      {"a)", "--query: at 1: expected an operator or the end of the query"},
      {"(a", "--query: at 2: expected ')'"},
      {"a *", "--query: at 2: expected '.' or '[' before '*'"},
      {"a{b: c}", "--query: at 1: expected '.' before '{'"},
      {"a !b", "--query: at 2: expected an operator before '!'"},
      {"a[*]*", "--query: at 4: expected '.', '[' or the end of the projection"},
      {"a ||", "--query: at 4: expected an expression"},
      {"-", "--query: at 0: expected a digit after '-'"},
      {"a[99999999999999999999]", "--query: at 2: expected a number from -2^63 to 2^63-1"},
      {"a#", "--query: at 1: unexpected character '#'"},
      {"'\u00e9' | \u00e9", "--query: at 6: unexpected character '\u00e9'"},
      {"'abc", "--query: at 0: expected a closing ' for the raw string that starts here"},
      {"a == `1", "--query: at 5: expected a closing ` for the literal that starts here"},
      {"\"a", "--query: at 0: expected a closing \" for the quoted identifier that starts here"},
      {"`{\"a\"}`", "--query: at 0: expected a JSON value between backticks"},
      {"\"\\q\"", "--query: at 0: expected a JSON string as the quoted identifier"},
      {"\"length\"(@)", "--query: at 0: expected an unquoted function name before '('"},
      {"a.b.length(@, @)", "--query: at 4: expected 1 argument for length(), got 2"},
      {"not_null()", "--query: at 0: expected at least 1 argument for not_null(), got 0"},
      {"sort_by(@, name)", "--query: at 11: expected an expression reference (&expr) as argument 2 of sort_by()"},
      {"length(&a)", "--query: at 7: expected a value, not an expression reference, as argument 1 of length()"},
      {"&a", "--query: at 0: expected '&' only in a function argument that takes an expression, as in sort_by(@, &name)"},
      {"`1`(@)", "--query: at 3: expected a function name before '('"},
      {"length(@ @)", "--query: at 9: expected ',' or ')'"},
  };
  for (const auto& [expression, message] : kErrors) EXPECT_EQ(parse_error(expression), message) << expression;
  EXPECT_EQ(parse_error(std::string(300, '(') + "a"), "--query: at 256: expected at most 256 levels of nesting");
  EXPECT_EQ(parse_error("nosuch(@)").rfind("--query: at 0: expected a function name (abs, avg, ", 0), 0u);
  EXPECT_NE(parse_error("nosuch(@)").find("), got 'nosuch'"), std::string::npos);
}

TEST(Query, LongChainsParseAndDeepNestingIsRefused) {
  std::string chain = "a";
  for (int i = 0; i < 5000; ++i) chain += ".a";
  EXPECT_TRUE(parse_query(chain).ok());
  std::string pipes = "@";
  for (int i = 0; i < 5000; ++i) pipes += " | @";
  auto q = parse_query(pipes);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*apply(*q, json::parse("[1]")), json::parse("[1]"));
  std::string ors = "a";
  for (int i = 0; i < 300; ++i) ors += " || a";
  EXPECT_EQ(parse_error(ors), "--query: at 1277: expected at most 256 levels of nesting");
}

TEST(Query, TypeErrorsAreReportedWhenApplied) {
  const std::tuple<const char*, const char*, const char*> kErrors[] = {
      {"length(@)", "1", "--query: at 0: length() expected a string, an array or an object as argument 1, got a number"},
      {"a | keys(@)", R"({"a": [1]})", "--query: at 4: keys() expected an object as argument 1, got an array"},
      {"sort(@)", R"([1, "a"])",
       "--query: at 0: sort() expected an array of numbers or an array of strings as argument 1, got an array holding "
       "a string"},
      {"sum(@)", R"(["a"])", "--query: at 0: sum() expected an array of numbers as argument 1, got an array holding a string"},
      {"sort_by(@, &a)", R"([{"a": 1}, {"a": "x"}])",
       "--query: at 0: sort_by() expected the expression to give all numbers or all strings, got a string"},
      {"join(', ', @)", R"(["a", null])",
       "--query: at 0: join() expected an array of strings as argument 2, got an array holding null"},
      {"merge(@, `1`)", "{}", "--query: at 0: merge() expected an object as argument 2, got a number"},
  };
  for (const auto& [expression, input, message] : kErrors) {
    auto q = parse_query(expression);
    ASSERT_TRUE(q.ok()) << expression;
    auto r = apply(*q, json::parse(input));
    ASSERT_FALSE(r.ok()) << expression;
    EXPECT_EQ(r.error().message, message);
  }
}

TEST(Query, CompactJsonSpellsNumbersAsAzDoes) {
  EXPECT_EQ(compact_json(json::parse(R"([1, -2, 2.5, 3.0, 1e20, 0.1, "\u00e9\"", {"a": null}, true])")),
            "[1,-2,2.5,3.0,1e+20,0.1,\"\u00e9\\\"\",{\"a\":null},true]");
}

// emit() with a query, in every format.
class QueryOutput : public ::testing::Test {
 protected:
  std::ostringstream out;
  Context ctx;
  static constexpr Column kColumns[] = {{"Name", "name"}, {"State", "executionState"}, {"Nodes", "nodeCount"}};
  json::value jobs = json::parse(kDoc).at("jobs");

  Status emitted;  // what the last print's emit() returned

  void SetUp() override { ctx.out = &out; }
  std::string print(OutputFormat format, const std::string& query, const json::value& value) {
    out.str("");
    ctx.format = format;
    auto q = parse_query(query);
    EXPECT_TRUE(q.ok()) << query;
    ctx.query = std::make_shared<const Query>(*q);
    emitted = emit(ctx, value, kColumns);
    return out.str();
  }
};

TEST_F(QueryOutput, JsonPrintsTheResultAndNothingForNull) {
  EXPECT_EQ(print(OutputFormat::json, "[0].executionState", jobs), "\"running\"\n");
  EXPECT_EQ(print(OutputFormat::json, "[].name", jobs), "[\n  \"a\",\n  \"b\",\n  \"c\"\n]\n");
  EXPECT_EQ(print(OutputFormat::json, "avg([].nodeCount)", jobs), "2.3333333333333335\n");
  EXPECT_EQ(print(OutputFormat::json, "[0].missing", jobs), "");
  EXPECT_EQ(print(OutputFormat::table, "[0].missing", jobs), "");
}

TEST_F(QueryOutput, TableOfScalarsHasAResultColumn) {
  EXPECT_EQ(print(OutputFormat::table, "executionState", jobs.at(0)),
            "Result\n"
            "-------\n"
            "running\n");
  EXPECT_EQ(print(OutputFormat::table, "[].name", jobs),
            "Result\n"
            "------\n"
            "a\n"
            "b\n"
            "c\n");
  EXPECT_EQ(print(OutputFormat::table, "[].exitCode", jobs), "Result\n------\n0\n1\n");
  EXPECT_EQ(print(OutputFormat::table, "[`[]`, `{}`, `true`, `2.5`]", jobs), "Result\n------\n[]\n{}\nTrue\n2.5\n");
  EXPECT_EQ(print(OutputFormat::table, "`[[], []]`", jobs), "Result\n------\n[]\n[]\n");
}

TEST_F(QueryOutput, TableKeepsTheCommandsColumnsWhileRowsAreTheCommands) {
  EXPECT_EQ(print(OutputFormat::table, "[?nodeCount > `1`]", jobs),
            "Name  State      Nodes\n"
            "----  ---------  -----\n"
            "a     running    2\n"
            "b     succeeded  4\n");
  EXPECT_EQ(print(OutputFormat::table, "sort_by(@, &nodeCount)[0]", jobs),
            "Name  State   Nodes\n"
            "----  ------  -----\n"
            "c     failed  1\n");
  EXPECT_EQ(print(OutputFormat::table, "[?nodeCount > `9`]", jobs),
            "Name  State  Nodes\n"
            "----  -----  -----\n");
}

TEST_F(QueryOutput, TableOfNewObjectsTakesTheirKeys) {
  EXPECT_EQ(print(OutputFormat::table, "[].{name: name, state: executionState, tags: tags}", jobs),
            "Name  State\n"
            "----  ---------\n"
            "a     running\n"
            "b     succeeded\n"
            "c     failed\n");
  json::value cluster = json::parse(kDoc);
  EXPECT_EQ(print(OutputFormat::table, "nodeStateCounts", cluster),
            "IdleNodeCount  RunningNodeCount  PreparingNodeCount\n"
            "-------------  ----------------  ------------------\n"
            "2              1                 0\n");
  EXPECT_EQ(print(OutputFormat::table, "[].[name, nodeCount]", jobs),
            "Column1  Column2\n"
            "-------  -------\n"
            "a        2\n"
            "b        4\n"
            "c        1\n");
}

TEST_F(QueryOutput, AFailedQueryPrintsNothingAndIsReturned) {
  EXPECT_EQ(print(OutputFormat::json, "[0].name", jobs), "\"a\"\n");
  EXPECT_TRUE(emitted.ok());
  EXPECT_EQ(print(OutputFormat::json, "length(@[0].nodeCount)", jobs), "");
  ASSERT_FALSE(emitted.ok());
  EXPECT_EQ(emitted.error().message,
            "--query: at 0: length() expected a string, an array or an object as argument 1, got a number");
}

// Through the command line: parsed before the command runs, applied to what
// it prints, its failure the command's exit status.
class QueryCli : public ::testing::Test {
 protected:
  batchai::testing::FakeSlurm fake;
  std::ostringstream out, help;
  Context ctx;
  std::string err;

  void SetUp() override {
    ctx.out = &out;
    ctx.slurm = [this]() -> Result<slurm::Client*> { return &fake; };
    ctx.sleep = [](std::chrono::milliseconds) {};
    for (const char* name : {"node1", "node2"}) {
      slurm::NodeInfo n;
      n.name = name;
      n.state = name == std::string("node1") ? slurm::NodeState::idle : slurm::NodeState::allocated;
      n.cpus = 4;
      fake.node_list.push_back(n);
    }
  }
  int run(std::vector<std::string> argv) {
    out.str("");
    ::testing::internal::CaptureStderr();
    int rc = frontend::run(argv, ctx, help);
    err = ::testing::internal::GetCapturedStderr();
    return rc;
  }
};

TEST_F(QueryCli, AppliesToTheCommandsResult) {
  ASSERT_EQ(run({"slurm", "nodes", "--query", "[?state == 'IDLE'].name"}), 0) << err;
  EXPECT_EQ(out.str(), "[\n  \"node1\"\n]\n");
  ASSERT_EQ(run({"slurm", "nodes", "-o", "table", "--query=[].{name: name, cpus: cpus}"}), 0) << err;
  EXPECT_EQ(out.str(), "Name   Cpus\n-----  ----\nnode1  4\nnode2  4\n");
  ASSERT_EQ(run({"slurm", "nodes", "-o", "tsv", "--query", "length(@)"}), 0) << err;
  EXPECT_EQ(out.str(), "2\n");
  // The next command without --query prints everything again: each
  // node's values by sorted key (cpus, flags, gres, name, partitions as a
  // count, reason, state).
  ASSERT_EQ(run({"slurm", "nodes", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "4\t\t\tnode1\t0\t\tIDLE\n4\t\t\tnode2\t0\t\tALLOCATED\n");
}

TEST_F(QueryCli, ABadQueryStopsTheCommandBeforeItRuns) {
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string script = dir.file("job.sh");
  std::ofstream(script) << "#!/bin/sh\ntrue\n";
  EXPECT_EQ(run({"slurm", "submit", script, "--query", "jobId."}), 2);
  EXPECT_EQ(err, "batchai: error: --query: at 6: expected an identifier after '.'\n");
  EXPECT_TRUE(fake.submitted.empty());
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(run({"slurm", "submit", script, "--query", "jobId"}), 0) << err;
  EXPECT_EQ(out.str(), "100\n");
}

TEST_F(QueryCli, AQueryThatFailsOnTheResultExitsOne) {
  EXPECT_EQ(run({"slurm", "nodes", "--query", "sum([].name)"}), 1);
  EXPECT_EQ(err, "batchai: error: --query: at 0: sum() expected an array of numbers as argument 1, got an array "
                 "holding a string\n");
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace batchai::frontend
