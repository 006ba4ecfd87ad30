// -o tsv and -o json against az's own: knack's format_tsv and format_json
// (the library az prints with) over the same documents, with and without a
// --query run by PyPI's jmespath as knack runs it (new objects ordered,
// others plain dicts). Skips, saying why, where python3 has no knack or
// jmespath.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/cli.h"
#include "frontend/output.h"
#include "frontend/pynum.h"
#include "frontend/query.h"
#include "unit/python_oracle.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

// Each case: a command's result as JSON text, and a query ("" for none).
struct Case {
  const char* result;
  const char* query;
};

constexpr const char* kJobs = R"([
  {"name": "a", "executionState": "running", "nodeCount": 2, "tags": ["x", "y"], "exitCode": null,
   "executionInfo": {"exitCode": null}, "preempted": false, "ratio": 0.5, "big": 18446744073709551616},
  {"name": "b", "executionState": "succeeded", "nodeCount": 4, "tags": [], "exitCode": 0,
   "executionInfo": {"exitCode": 0}, "preempted": true, "ratio": 1e-7, "big": -1},
  {"name": "c", "executionState": "failed", "nodeCount": 1, "exitCode": 3,
   "executionInfo": null, "preempted": false, "ratio": 1e16, "big": 0}])";

constexpr Case kCases[] = {
    {kJobs, ""},
    {R"({"zeta": 1, "alpha": "first", "mid": [1, 2, 3], "obj": {"k": 1}, "none": null, "yes": true})", ""},
    {R"([])", ""},
    {R"(["one", "two"])", ""},
    {R"([true, false, null, 1.5, -0.0, 100000000000000000000])", ""},
    {R"([[1, "a", null, true, [2], {"x": 1}]])", ""},
    {kJobs, "[0].executionState"},
    {kJobs, "[].name"},
    {kJobs, "[].{n: nodeCount, name: name, tags: tags, info: executionInfo}"},
    {kJobs, "[?name == 'b']"},
    {kJobs, "[0]"},
    {kJobs, "[].[name, tags, preempted]"},
    {kJobs, "[].executionInfo"},
    {kJobs, "length(@)"},
    {kJobs, "[].preempted"},
    {kJobs, "{first: [0].name, count: length(@), all: [].name}"},
    {kJobs, "sort_by(@, &nodeCount)"},
    {kJobs, "[?exitCode != `null`].{code: exitCode, job: name}"},
};

// What az prints: knack's own TSV formatter, after jmespath where a query
// is given, with the ordered dicts knack asks jmespath for.
constexpr const char* kPython = R"(import collections, json, sys
import jmespath
from knack.output import format_json, format_tsv
from knack.util import CommandResultItem
formats = {"tsv": format_tsv, "json": format_json}
out = []
for c in json.load(open(sys.argv[1])):
    result = json.loads(c["result"])
    if c["query"]:
        result = jmespath.search(c["query"], result, jmespath.Options(collections.OrderedDict))
    out.append(formats[sys.argv[2]](CommandResultItem(result)) if result is not None else "")
print(json.dumps(out))
)";

std::string ours(const Case& c, OutputFormat format = OutputFormat::tsv) {
  std::ostringstream out;
  Context ctx;
  ctx.out = &out;
  ctx.format = format;
  if (*c.query) {
    auto q = parse_query(c.query);
    EXPECT_TRUE(q.ok()) << c.query;
    if (!q.ok()) return "";
    ctx.query = std::make_shared<const Query>(*q);
  }
  std::error_code ec;
  const json::value result = pynum::parse(c.result, 64, ec);
  EXPECT_FALSE(ec) << c.result;
  static constexpr Column kColumns[] = {{"Name", "name"}, {"State", "executionState"}};
  EXPECT_TRUE(emit(ctx, result, kColumns).ok()) << c.query;
  return out.str();
}

// Every case through knack in FORMAT ("tsv" or "json"), and through ours.
void compare_with_knack(const char* format, OutputFormat ours_as) {
  if (std::system("python3 -c 'import knack, jmespath' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 cannot import knack and jmespath (share/batchai/setup-deps installs them)";
  }
  json::array cases;
  for (const auto& c : kCases) cases.push_back(json::object{{"result", c.result}, {"query", c.query}});
  std::string error;
  const json::value az = batchai::testing::run_python(kPython, cases, format, error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(az.as_array().size(), std::size(kCases));
  for (std::size_t i = 0; i < std::size(kCases); ++i) {
    EXPECT_EQ(ours(kCases[i], ours_as), az.as_array()[i].as_string())
        << "result " << kCases[i].result << "\nquery " << kCases[i].query;
  }
}

TEST(TsvOutput, MatchesKnacksFormatTsvByteForByte) { compare_with_knack("tsv", OutputFormat::tsv); }

// az's JSON sorts every object's keys, --query's new objects included.
TEST(JsonOutput, MatchesKnacksFormatJsonByteForByte) { compare_with_knack("json", OutputFormat::json); }

// The same rules where there is no Python: the command's columns play no
// part, keys are sorted, nested values are a length or nothing.
TEST(TsvOutput, IsTheObjectsValuesBySortedKey) {
  const Case plain{R"({"zeta": 1, "alpha": "first", "mid": [1, 2, 3], "obj": {"k": 1}, "none": null, "yes": true})",
                   ""};
  EXPECT_EQ(ours(plain), "first\t3\tNone\t\tTrue\t1\n");
  EXPECT_EQ(ours({kJobs, "[].{n: nodeCount, name: name}"}), "2\ta\n4\tb\n1\tc\n");
  EXPECT_EQ(ours({"[true, null]", ""}), "true\nNone\n");
}

}  // namespace
}  // namespace batchai::frontend
