#include "base/args.h"

#include <gtest/gtest.h>

namespace batchai::args {
namespace {

constexpr Option kOptions[] = {
    {"nodes", 'N', "N", "number of nodes"},
    {"name", 0, "NAME", "a name"},
    {"verbose", 'v', "", "more output"},
    {"env", 'e', "VAR", "an environment variable", true},
};
constexpr Positional kPositionals[] = {{"SCRIPT", "the script"}, {"EXTRA", "optional", false}};

Result<Parsed> p(std::vector<std::string> argv) { return parse(argv, kOptions, kPositionals); }

TEST(Args, LongShortAndInlineValues) {
  auto r = p({"--nodes", "4", "run.sh", "--name=x", "-v", "-eA=1", "-e", "B=2"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->get("nodes"), "4");
  EXPECT_EQ(r->get("name"), "x");
  EXPECT_TRUE(r->has("verbose"));
  EXPECT_EQ(r->all("env"), (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(r->positionals(), std::vector<std::string>{"run.sh"});
}

TEST(Args, DoubleDashEndsOptions) {
  auto r = p({"--", "--nodes"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->positionals(), std::vector<std::string>{"--nodes"});
  EXPECT_FALSE(r->has("nodes"));
}

TEST(Args, ErrorsNameTheFlag) {
  EXPECT_EQ(p({"x", "--nodse", "3"}).error().message, "unknown option '--nodse' (did you mean '--nodes'?)");
  EXPECT_EQ(p({"x", "-q"}).error().message, "unknown option '-q'");
  EXPECT_EQ(p({"x", "--nodes"}).error().message, "--nodes: missing value N");
  EXPECT_EQ(p({"x", "--verbose=yes"}).error().message, "--verbose: takes no value, got 'yes'");
  EXPECT_EQ(p({"x", "--name", "a", "--name", "b"}).error().message, "--name: given more than once");
  EXPECT_EQ(p({}).error().message, "missing argument SCRIPT");
  EXPECT_EQ(p({"a", "b", "c"}).error().message, "unexpected argument 'c'");
}

TEST(Args, IntegersAreRangeCheckedAndFullyConsumed) {
  auto r = p({"x", "--nodes", "4x"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_int("nodes", 1, 64).error().message, "--nodes: expected an integer from 1 to 64, got '4x'");
  EXPECT_EQ(parse_int("0", 1, INT64_MAX, "processCount").error().message,
            "processCount: expected an integer >= 1, got '0'");
  EXPECT_EQ(parse_int("", 1, 9, "x").error().message, "x: expected an integer from 1 to 9, got ''");
  EXPECT_EQ(*parse_int("64", 1, 64, "x"), 64);
  auto absent = p({"x"});
  ASSERT_TRUE(absent);
  auto v = absent->get_int("nodes", 1, 64);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->has_value());
}

TEST(Args, HelpListsEveryOptionFromTheTable) {
  std::string text = help("prog SCRIPT", "Does things.", kOptions, kPositionals);
  EXPECT_TRUE(text.starts_with("usage: prog SCRIPT\n\nDoes things.\n"));
  for (const auto& o : kOptions) {
    EXPECT_NE(text.find(spelling(o)), std::string::npos) << spelling(o);
    EXPECT_NE(text.find(o.help), std::string::npos) << o.help;
  }
  EXPECT_NE(text.find("  -N, --nodes N  number of nodes\n"), std::string::npos) << text;
}

// A required option is checked by the parser, with one message shape, and
// marked in help from the same row.
constexpr Option kRequired[] = {
    required({"config-file", 'f', "FILE", "the job.json"}),
    required({"min", 0, "N", "fewest nodes"}),
    {"name", 'n', "NAME", "a name"},
};

TEST(Args, RequiredOptionsAreCheckedByTheParser) {
  auto ok = parse(std::vector<std::string>{"-f", "job.json", "--min=0"}, kRequired, {});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->get("config-file"), "job.json");
  auto none = parse(std::vector<std::string>{"-n", "x"}, kRequired, {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "--config-file: required (the job.json)") << "the table's first missing one";
  auto no_min = parse(std::vector<std::string>{"--config-file", "j"}, kRequired, {});
  ASSERT_FALSE(no_min);
  EXPECT_EQ(no_min.error().message, "--min: required (fewest nodes)");
  auto empty = parse(std::vector<std::string>{"-f", "", "--min", "1"}, kRequired, {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "--config-file: required (the job.json)") << "an empty value is none";
  // Bad flags are still reported as such, not as a missing one.
  EXPECT_EQ(parse(std::vector<std::string>{"--nmae", "x"}, kRequired, {}).error().message,
            "unknown option '--nmae' (did you mean '--name'?)");
}

TEST(Args, HelpAndUsageMarkRequiredOptions) {
  const std::string text = help("prog", "", kRequired, {});
  EXPECT_NE(text.find("  -f, --config-file FILE  the job.json (required)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  --min N                 fewest nodes (required)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  -n, --name NAME         a name\n"), std::string::npos) << text;
  EXPECT_EQ(help_text(kRequired[2]), "a name");
  EXPECT_EQ(usage_form(kRequired[0]), "-f FILE");
  EXPECT_EQ(usage_form(kRequired[1]), "--min N");
}

// --ids ID [ID ...]: every word up to the next option, as az's nargs='+',
// and -n NAME required unless --ids stands in for it.
constexpr Option kShow[] = {
    required_unless({"experiment", 'e', "NAME", "experiment"}, "ids"),
    required_unless({"name", 'n', "NAME", "job name"}, "ids"),
    many({"ids", 0, "ID", "resource ids"}),
    {"yes", 'y', "", "do not ask"},
};

TEST(Args, ManyTakesEveryWordUpToTheNextOption) {
  auto p = parse(std::vector<std::string>{"--ids", "/a", "/b", "/c", "-y"}, kShow, {});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->all("ids"), (std::vector<std::string>{"/a", "/b", "/c"}));
  EXPECT_TRUE(p->has("yes"));
  auto inline_value = parse(std::vector<std::string>{"--ids=/a", "/b"}, kShow, {}, true);
  ASSERT_TRUE(inline_value) << inline_value.error().message;
  EXPECT_EQ(inline_value->all("ids"), (std::vector<std::string>{"/a"}));
  EXPECT_EQ(inline_value->positionals(), (std::vector<std::string>{"/b"}));
  auto twice = parse(std::vector<std::string>{"--ids", "/a", "--ids", "/b"}, kShow, {});
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->all("ids").size(), 2u);
  auto none = parse(std::vector<std::string>{"--ids"}, kShow, {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "--ids: missing value ID");
}

TEST(Args, RequiredUnlessAnotherOptionStandsIn) {
  EXPECT_TRUE(parse(std::vector<std::string>{"-e", "x", "-n", "y"}, kShow, {}));
  EXPECT_TRUE(parse(std::vector<std::string>{"--ids", "/a"}, kShow, {}));
  auto missing = parse(std::vector<std::string>{"-e", "x"}, kShow, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "--name or --ids: required (job name)");
  EXPECT_EQ(help_text(kShow[1]), "job name (required, or --ids)");
  EXPECT_EQ(usage_form(kShow[2]), "--ids ID [ID ...]");
  EXPECT_EQ(usage_options(kShow), " (-e NAME -n NAME | --ids ID [ID ...])");
}

}  // namespace
}  // namespace batchai::args
