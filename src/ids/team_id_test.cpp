#include "ids/team_id.hpp"

#include <gtest/gtest.h>

namespace teamreg::ids {
namespace {

TEST(TeamIdTest, PadsToMinimumWidthAndGrowsBeyondIt) {
  const SequenceFormat icct{"ICCT", 3};
  EXPECT_EQ(format_team_id(icct, 1), "ICCT-001");
  EXPECT_EQ(format_team_id(icct, 7), "ICCT-007");
  EXPECT_EQ(format_team_id(icct, 999), "ICCT-999");
  EXPECT_EQ(format_team_id(icct, 1000), "ICCT-1000");
  EXPECT_EQ(format_team_id(SequenceFormat{"T", 1}, 5), "T-5");
}

TEST(TeamIdTest, ParsesOnlyItsOwnPrefixAndPlainNumbers) {
  const SequenceFormat icct{"ICCT", 3};
  EXPECT_EQ(parse_team_number(icct, "ICCT-007"), 7);
  EXPECT_EQ(parse_team_number(icct, "ICCT-1000"), 1000);
  EXPECT_EQ(parse_team_number(icct, "ICCT-"), std::nullopt);
  EXPECT_EQ(parse_team_number(icct, "ICCT-12a"), std::nullopt);
  EXPECT_EQ(parse_team_number(icct, "ICCT-+12"), std::nullopt);
  EXPECT_EQ(parse_team_number(icct, "ICCT-X01"), std::nullopt);
  EXPECT_EQ(parse_team_number(icct, "OTHER-001"), std::nullopt);
  EXPECT_EQ(parse_team_number(icct, "ICCT007"), std::nullopt);
  EXPECT_EQ(parse_team_number(icct, "ICCT-99999999999999999999"), std::nullopt);
}

TEST(TeamIdTest, PlayerIdsAreTwoDigitPositions) {
  EXPECT_EQ(format_player_id("ICCT-007", 1), "ICCT-007-P01");
  EXPECT_EQ(format_player_id("ICCT-007", 15), "ICCT-007-P15");
}

}  // namespace
}  // namespace teamreg::ids
