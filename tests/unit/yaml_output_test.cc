// -o yaml against az's own: PyYAML's yaml.safe_dump(value,
// default_flow_style=False), byte for byte, over a table of values chosen for
// the places the two could part: quoting of strings YAML 1.1 reads as other
// types, indicators, line breaks and folding, non-ASCII, floats' spelling,
// key order, nesting and empty collections.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "frontend/yaml_output.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

// Each a JSON document; python reads the same text.
const char* const kCases[] = {
    R"({"name": "c1", "vmSize": "STANDARD_NC6", "nodes": 2, "on": true, "off": false, "none": null})",
    R"(["123", "1.5", "-7", "+3", "0x1F", "0b101", "017", "1_000", "12:30:45", "190:20:30.15", ".5", "1e3", "1.0e+3"])",
    R"(["yes", "No", "ON", "off", "true", "False", "y", "n", "null", "Null", "~", "", "<<", "=", ".inf", "-.Inf", ".nan"])",
    R"(["2018-05-01", "2018-05-01T10:00:00Z", "2018-5-1 10:00:00.5 +02:00", "2018-05-01x", "20180501"])",
    R"(["x: y", "x:y", "#x", "a#b", "a #b", "- x", "-x", "-", "?x", "? x", ":x", "[x]", "a[b]", "{x}", "a,b", "a, b"])",
    R"(["'q'", "\"dq\"", "it's", "%x", "@x", "`x", "!x", "&x", "*x", "|x", ">x", "---", "...", "--- x", "a ---"])",
    R"(["a\nb", "a\n\nb", "a\n", "\nb", "tab\there", " lead", "trail ", "two  spaces", "a\u0007b", "a\rb"])",
    R"(["é", "日本語", "naïve café", "\u2028", "\u00a0x", "emoji \ud83d\ude00"])",
    R"({"long": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation.", "path": "/mnt/batch/tasks/shared/LS_root/mounts/external/an/extremely/long/path/without/any/spaces/at/all/in/it/whatsoever"})",
    R"({"quoted long": "yes, Lorem ipsum dolor sit amet: consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.", "ml": "first line\nsecond line that is quite long and goes on and on past the eighty column limit of the emitter\nthird"})",
    R"([0, -1, 9007199254740993, 9223372036854775807, -9223372036854775808, 18446744073709551615])",
    R"([1e-07, 1.5e-05, 1e-05, 0.0001, 0.1, 1e15, 1e16, 1.5e16, 1e17, 1.2345678901234568e+17, -0.0, 0.30000000000000004, 1e301, 2.0, 1e22, 123456789.123, 5e-324])",
    R"({"b": [1, [2, 3], {"c": []}, {}], "a": {"z": 1, "y": {"x": [{"k": "v", "j": [1, {"deep": [[]]}]}]}}})",
    R"({"123": 1, "yes": 2, "a b": 3, "é": 5, "B": 6, "a": 7, "_": 8, "-": 9, "x: y": 10})",
    R"([{"name": "j1", "executionState": "succeeded"}, {"name": "j2", "executionState": "running", "exitCode": null}])",
    R"({"properties": {"nodeSetup": {"setupTask": {"commandLine": "echo hi && ls -la $AZ_BATCHAI_MOUNT_ROOT", "environmentVariables": [{"name": "A", "value": "1"}]}}}})",
    R"([])",
    R"({})",
    R"([[], {}, [[]], [{}]])",
};

TEST(YamlOutput, MatchesPyYamlSafeDumpByteForByte) {
  if (std::system("python3 -c 'import yaml' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 cannot import yaml (PyYAML; share/batchai/setup-deps installs it)";
  }
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  json::array texts;
  for (const char* c : kCases) texts.push_back(json::string(c));
  const std::string path = dir.file("cases.json");
  std::ofstream(path) << json::serialize(texts);
  // What azure-cli's format_yaml does, one document per case.
  const std::string command =
      "python3 -c 'import json, sys, yaml; "
      "print(json.dumps([yaml.safe_dump(json.loads(t), default_flow_style=False) for t in json.load(open(sys.argv[1]))]))' " +
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
    auto ours = to_yaml(json::parse(kCases[i]));
    ASSERT_TRUE(ours) << ours.error().message;
    EXPECT_EQ(*ours, std::string(results.as_array()[i].as_string())) << "case " << i << ": " << kCases[i];
  }
}

// Fixed rows, so a machine without PyYAML still checks the layout az shows.
TEST(YamlOutput, WritesAzsLayout) {
  auto y = to_yaml(json::parse(R"({"name": "c1", "nodes": [1, 2], "id": "123", "empty": "", "x": 1e-07, "t": true})"));
  ASSERT_TRUE(y) << y.error().message;
  EXPECT_EQ(*y, "empty: ''\nid: '123'\nname: c1\nnodes:\n- 1\n- 2\nt: true\nx: 1.0e-07\n");
  EXPECT_EQ(*to_yaml(json::parse("[]")), "[]\n");
  EXPECT_EQ(*to_yaml(json::parse(R"({"a": null, "b": 1e16, "c": 0.0001})")), "a: null\nb: 1.0e+16\nc: 0.0001\n");
}

// The one known difference: PyYAML writes an empty key as a complex key
// ("? ''\n: 4"); libyaml's emitter writes it as a simple one, which reads
// back the same. No object batchai prints has an empty key.
TEST(YamlOutput, AnEmptyKeyIsQuoted) {
  EXPECT_EQ(*to_yaml(json::parse(R"({"": 4, "a": 1})")), "'': 4\na: 1\n");
}

TEST(YamlOutput, ResolverReadsWhatPyYamlReads) {
  for (const char* s : {"123", "1.5", "yes", "on", "null", "~", "", "2018-05-01", "2018-05-01T10:00:00Z", "0x1F", "<<",
                        ".inf", "1_000", "12:30"}) {
    EXPECT_TRUE(yaml_implicit_non_string(s)) << s;
  }
  for (const char* s : {"1e3", "abc", "y", "2018-05-01x", "1.5.5", "yess", "0x", "."}) {
    EXPECT_FALSE(yaml_implicit_non_string(s)) << s;
  }
}

TEST(YamlOutput, ColourMarksKeysOnly) {
  EXPECT_EQ(colour_yaml("name: c1\nnodes:\n- a: 1\n"),
            "\x1b[94mname\x1b[0m: c1\n\x1b[94mnodes\x1b[0m:\n- \x1b[94ma\x1b[0m: 1\n");
}

}  // namespace
}  // namespace batchai::frontend
