#pragma once

#include <string>
#include <string_view>

namespace teamreg {

inline constexpr std::string_view kRegisteredMessage =
    "Registration submitted successfully. Please wait for admin confirmation.";

/// The 201 body of POST /api/register/team. Stored verbatim for idempotent replays.
std::string registered_body(std::string_view team_id, std::string_view team_name, int player_count);

}  // namespace teamreg
