// metrics.jsonl is JSON whatever the figures: each line parses on its own,
// keeps the keys and the precision it has always had, and a figure that is
// not finite is null rather than a bare NaN no JSON reader takes.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "trainer/report.h"

namespace batchai::trainer {
namespace {

std::vector<boost::json::object> parse_lines(const std::string& text) {
  std::vector<boost::json::object> records;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line << " (" << ec.message() << ")";
    if (!ec && v.is_object()) records.push_back(v.get_object());
  }
  return records;
}

TEST(TrainerReport, MetricsAreOneJsonRecordPerEpochWithTheirKeysAndPrecision) {
  const std::string text = metrics_jsonl({{1, 1.2345678912, 0.41723456, 1.1, 0.5, 12.34567, 2104.56},
                                          {2, 0.9, 0.6, 0.95, 0.625, 11.0, 2200.0}});
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  const auto records = parse_lines(text);
  ASSERT_EQ(records.size(), 2u) << text;
  const auto& first = records[0];
  std::vector<std::string> keys;
  for (const auto& [key, value] : first) keys.emplace_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"epoch", "loss", "acc", "val_loss", "val_acc", "seconds",
                                            "images_per_second"}));
  EXPECT_EQ(first.at("epoch").as_int64(), 1);
  // printf's %.6g, %.3f and %.1f, as the file always carried them.
  EXPECT_EQ(first.at("loss").as_double(), 1.23457);
  EXPECT_EQ(first.at("acc").as_double(), 0.417235);
  EXPECT_EQ(first.at("seconds").as_double(), 12.346);
  EXPECT_EQ(first.at("images_per_second").as_double(), 2104.6);
  EXPECT_EQ(records[1].at("epoch").as_int64(), 2);
  EXPECT_EQ(records[1].at("val_acc").as_double(), 0.625);
}

TEST(TrainerReport, FiguresThatAreNotFiniteAreNullAndTheLineStaysJson) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::string text = metrics_jsonl({{3, nan, 0.1, inf, 0.1, 1.0, -inf}});
  const auto records = parse_lines(text);
  ASSERT_EQ(records.size(), 1u) << text;
  EXPECT_TRUE(records[0].at("loss").is_null()) << text;
  EXPECT_TRUE(records[0].at("val_loss").is_null()) << text;
  EXPECT_TRUE(records[0].at("images_per_second").is_null()) << text;
  EXPECT_EQ(records[0].at("acc").as_double(), 0.1);
  EXPECT_EQ(text.find("NaN"), std::string::npos) << text;
  EXPECT_EQ(text.find("Infinity"), std::string::npos) << text;
}

// A resumed run reads back the epochs before it and writes them again:
// the same text, nulls included.
TEST(TrainerReport, MetricsRoundTripThroughJsonl) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<EpochMetrics> epochs{{1, 1.2345678912, 0.41723456, 1.1, 0.5, 12.34567, 2104.56},
                                         {2, 0.9, 0.6, nan, 0.625, 11.0, 2200.0}};
  const std::string text = metrics_jsonl(epochs);
  auto back = parse_metrics_jsonl(text, "m.jsonl");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].epoch, 2);
  EXPECT_EQ((*back)[1].val_acc, 0.625);
  EXPECT_TRUE(std::isnan((*back)[1].val_loss));
  EXPECT_EQ(metrics_jsonl(*back), text);
  auto bad = parse_metrics_jsonl(text + "{\"epoch\":3}\n", "m.jsonl");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("m.jsonl:3: ", 0), 0u) << bad.error().message;
}

}  // namespace
}  // namespace batchai::trainer
