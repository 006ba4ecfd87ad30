#include "frontend/output.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace batchai::frontend {
namespace {

TEST(Output, PrettyJsonIndentsLikeAz) {
  boost::json::value v = boost::json::parse(R"({"a":1,"b":[true,null,"x"],"c":{},"d":[],"e":{"f":"g\"h"}})");
  EXPECT_EQ(pretty_json(v),
            "{\n"
            "  \"a\": 1,\n"
            "  \"b\": [\n"
            "    true,\n"
            "    null,\n"
            "    \"x\"\n"
            "  ],\n"
            "  \"c\": {},\n"
            "  \"d\": [],\n"
            "  \"e\": {\n"
            "    \"f\": \"g\\\"h\"\n"
            "  }\n"
            "}");
}

TEST(Output, IsoTime) {
  EXPECT_TRUE(iso_time(0).is_null());
  EXPECT_EQ(iso_time(1795478400).as_string(), "2026-11-24T00:00:00Z");
}

TEST(Output, TableAlignsColumnsAndKeepsNegativeNumbers) {
  std::ostringstream s;
  Context ctx;
  ctx.out = &s;
  ctx.format = OutputFormat::table;
  static constexpr Column kCols[] = {{"Name", "name"}, {"Exit code", "code"}, {"Note", "note"}};
  EXPECT_TRUE(
      emit(ctx, boost::json::parse(R"([{"name":"a-long-name","code":-1,"note":null},{"name":"b","code":0}])"), kCols)
          .ok());
  EXPECT_EQ(s.str(),
            "Name         Exit code  Note\n"
            "-----------  ---------  ----\n"
            "a-long-name  -1\n"
            "b            0\n");
}

}  // namespace
}  // namespace batchai::frontend
