#include "ids/team_id.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

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

// Found by fuzz/team_id_fuzz.cpp: IDs of 19 digits (numbers from 10^18, which an admin reset
// may reach) were formatted but not parsed back.
TEST(TeamIdTest, EveryFormattedIdParsesBack) {
  const SequenceFormat icct{"ICCT", 3};
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  for (const std::int64_t number :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{999'999'999'999'999'999},
        std::int64_t{1'000'000'000'000'000'000}, kMax}) {
    EXPECT_EQ(parse_team_number(icct, format_team_id(icct, number)), number) << number;
  }
  EXPECT_EQ(format_team_id(icct, kMax), "ICCT-9223372036854775807");
  EXPECT_EQ(parse_team_number(icct, "ICCT-9223372036854775808"), std::nullopt);
}

TEST(TeamIdTest, PlayerIdsAreTwoDigitPositions) {
  EXPECT_EQ(format_player_id("ICCT-007", 1), "ICCT-007-P01");
  EXPECT_EQ(format_player_id("ICCT-007", 15), "ICCT-007-P15");
}

}  // namespace
}  // namespace teamreg::ids
