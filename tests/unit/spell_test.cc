#include "base/spell.h"

#include <gtest/gtest.h>

namespace batchai {
namespace {

TEST(Spell, EditDistance) {
  EXPECT_EQ(edit_distance("nodeCount", "nodeCount"), 0u);
  EXPECT_EQ(edit_distance("nodecount", "nodeCount"), 0u);  // case is folded
  EXPECT_EQ(edit_distance("nodeCoutn", "nodeCount"), 1u);  // a transposition is one edit
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Spell, ClosestMatchOnlySuggestsLikelyTypos) {
  std::string_view keys[] = {"nodeCount", "cluster", "jobPreparation", "containerSettings"};
  EXPECT_EQ(closest_match("nodecount", keys), "nodeCount");
  EXPECT_EQ(closest_match("clustr", keys), "cluster");
  EXPECT_EQ(closest_match("jobPrep", keys), std::nullopt);  // too far to be a typo
  EXPECT_EQ(closest_match("zzz", keys), std::nullopt);
}

}  // namespace
}  // namespace batchai
