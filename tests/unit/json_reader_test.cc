// The conversions JsonReader makes for job.json (Conversions::az_sdk): the
// text must be what Python printed, since that is what az sent and what the
// job ran with under Batch AI; and site.json's reader (Conversions::none)
// makes none of them.
#include "io/json_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace batchai {
namespace {

namespace json = boost::json;

std::string str_of(std::string_view number) {
  auto v = parse_json(number, "t.json");
  if (!v) return "parse error: " + v.error().message;
  return python_str(*v).value_or("(none)");
}

// Expected values are what CPython 3 prints for str(json.loads(text)).
TEST(JsonReader, NumbersAndBoolsAreSpeltAsPythonsStr) {
  const std::pair<const char*, const char*> cases[] = {
      {"10", "10"},
      {"-3", "-3"},
      {"0", "0"},
      {"-0", "0"},
      {"18446744073709551615", "18446744073709551615"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"1.5", "1.5"},
      {"2.0", "2.0"},
      {"-2.0", "-2.0"},
      {"-0.0", "-0.0"},
      {"0.0", "0.0"},
      {"1e-05", "1e-05"},
      {"1E-5", "1e-05"},
      {"0.0001", "0.0001"},
      {"0.00012", "0.00012"},
      {"0.000012", "1.2e-05"},
      {"0.1", "0.1"},
      {"0.9", "0.9"},
      {"1e5", "100000.0"},
      {"123.456", "123.456"},
      {"1e15", "1000000000000000.0"},
      {"1234567890123456.0", "1234567890123456.0"},
      {"1e16", "1e+16"},
      {"12345678901234567.0", "1.2345678901234568e+16"},
      {"1.5e300", "1.5e+300"},
      {"5e-324", "5e-324"},
      {"1.7976931348623157e308", "1.7976931348623157e+308"},
      {"3.141592653589793", "3.141592653589793"},
      {"true", "True"},
      {"false", "False"},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(str_of(text), expected) << text;
  EXPECT_FALSE(python_str(json::value("x")));
  EXPECT_FALSE(python_str(json::value(nullptr)));
  EXPECT_FALSE(python_str(json::array{1}));
  EXPECT_FALSE(python_str(json::object{{"a", 1}}));
}

TEST(JsonReader, IntegersAreReadFromStringsAsPythonsInt) {
  const std::pair<const char*, std::int64_t> good[] = {
      {"2", 2}, {"+2", 2}, {"-2", -2}, {" 2 ", 2}, {"\t2\n", 2}, {"007", 7}, {"0", 0},
      {"9223372036854775807", INT64_MAX}, {"-9223372036854775808", INT64_MIN}};
  for (const auto& [text, n] : good) EXPECT_EQ(python_int(text), n) << text;
  for (const char* bad : {"", " ", "2.5", "2.0", "two", "+", "-", "+-2", "-+2", "--2", "2 2", "0x10", "1e3", "1_000",
                          "9223372036854775808", "-9223372036854775809", "+ 2", "2a"}) {
    EXPECT_FALSE(python_int(bad)) << bad;
  }
}

TEST(JsonReader, SiteFilesConvertNothing) {
  auto doc = parse_json(R"({"s": 10, "n": "2", "f": 2.0})", "t.json");
  ASSERT_TRUE(doc);
  const json::object& o = doc->get_object();

  JsonReader strict("site.json", UnknownKeys::error, Conversions::none);
  EXPECT_FALSE(strict.str(o, "", "s"));
  EXPECT_FALSE(strict.count(o, "", "n"));
  EXPECT_FALSE(strict.count(o, "", "f"));
  EXPECT_EQ(strict.errors, (std::vector<std::string>{"site.json: s: expected a string, got 10",
                                                     "site.json: n: expected a positive integer, got \"2\"",
                                                     "site.json: f: expected a positive integer, got 2E0"}));

  JsonReader az("job.json", UnknownKeys::warn, Conversions::az_sdk);
  EXPECT_EQ(az.str(o, "", "s"), "10");
  EXPECT_EQ(az.count(o, "", "n"), 2);
  EXPECT_EQ(az.count(o, "", "f"), 2);
  EXPECT_TRUE(az.errors.empty());
}

}  // namespace
}  // namespace batchai
