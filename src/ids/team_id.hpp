#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace teamreg::ids {

/// Format of one sequence's identifiers: `PREFIX-NNN`, zero-padded to min_width, wider when needed.
struct SequenceFormat {
  std::string prefix = "ICCT";
  int min_width = 3;
};

/// ICCT-001 … ICCT-999, ICCT-1000.
std::string format_team_id(const SequenceFormat& format, std::int64_t number);

/// The number of a team ID of this format, or nullopt if it is foreign (other prefix) or its
/// suffix is not a plain decimal number.
std::optional<std::int64_t> parse_team_number(const SequenceFormat& format,
                                              std::string_view team_id);

/// `<team_id>-P<NN>`, NN = 1-based position, 2 digits.
std::string format_player_id(std::string_view team_id, int position);

}  // namespace teamreg::ids
