#include "ids/team_id.hpp"

#include <fmt/format.h>

#include <charconv>

namespace teamreg::ids {

std::string format_team_id(const SequenceFormat& format, std::int64_t number) {
  return fmt::format("{}-{:0{}d}", format.prefix, number, format.min_width);
}

std::optional<std::int64_t> parse_team_number(const SequenceFormat& format,
                                              std::string_view team_id) {
  if (team_id.size() <= format.prefix.size() + 1 || !team_id.starts_with(format.prefix) ||
      team_id[format.prefix.size()] != '-') {
    return std::nullopt;
  }
  const std::string_view digits = team_id.substr(format.prefix.size() + 1);
  // from_chars refuses a number past the int64 range; no cap on the digit count besides: a cap
  // of 18 refused the 19-digit IDs that format_team_id writes for numbers from 10^18 on.
  std::int64_t number = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc{} || end != digits.data() + digits.size() || number < 0) return std::nullopt;
  return number;
}

std::string format_player_id(std::string_view team_id, int position) {
  return fmt::format("{}-P{:02d}", team_id, position);
}

}  // namespace teamreg::ids
