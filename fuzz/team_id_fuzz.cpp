// Team and player ID formatting and parsing: every number a sequence can reach formats to an ID
// that parses back to it, for every prefix and width the configuration allows; every ID that
// parses names a number whose own ID parses back to it; player IDs extend their team's ID.
//
// Input (FuzzedDataProvider): a width, a prefix, a number, a position, then the text to parse.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "ids/team_id.hpp"

namespace {

using teamreg::fuzz::check;
using teamreg::ids::format_player_id;
using teamreg::ids::format_team_id;
using teamreg::ids::parse_team_number;
using teamreg::ids::SequenceFormat;

// What config.cpp accepts for --id-prefix: 1-16 of A-Z and 0-9.
std::string config_prefix(std::string raw) {
  std::string prefix;
  for (const char c : raw) {
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) prefix.push_back(c);
  }
  if (prefix.empty()) prefix = "ICCT";
  return prefix.substr(0, 16);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  SequenceFormat format;
  format.min_width = input.ConsumeIntegralInRange(1, 12);  // as config.cpp allows
  format.prefix = config_prefix(input.ConsumeRandomLengthString(24));
  const auto number = input.ConsumeIntegralInRange<std::int64_t>(0, INT64_MAX);
  const int position = input.ConsumeIntegralInRange(1, 99);
  const std::string text = input.ConsumeRemainingBytesAsString();

  const std::string id = format_team_id(format, number);
  check(id.starts_with(format.prefix + "-"), "a team ID lacks its prefix", id);
  check(id.size() >= format.prefix.size() + 1 + static_cast<std::size_t>(format.min_width),
        "a team ID is narrower than its width", id);
  const auto parsed = parse_team_number(format, id);
  check(parsed == number, "a formatted team ID does not parse back to its number", id);

  const std::string player = format_player_id(id, position);
  check(
      player.size() == id.size() + 4 && player.starts_with(id + "-P") &&
          std::all_of(player.end() - 2, player.end(), [](char c) { return c >= '0' && c <= '9'; }),
      "a player ID is not <team ID>-PNN", player);
  check(std::stoi(player.substr(player.size() - 2)) == position,
        "a player ID names another position", player);

  if (const auto other = parse_team_number(format, text)) {
    check(*other >= 0, "a parsed team number is negative", text);
    check(parse_team_number(format, format_team_id(format, *other)) == *other,
          "a parsed team number does not round-trip", text);
  }
  return 0;
}
