#pragma once

#include <string>
#include <string_view>

#include "core/registration.hpp"

namespace teamreg {

inline constexpr std::string_view kRegisteredMessage =
    "Registration submitted successfully. Please wait for admin confirmation.";

/// The 201 body of POST /api/register/team. Stored verbatim for idempotent replays.
std::string registered_body(std::string_view team_id, std::string_view team_name, int player_count);

/// Every answer the commit transaction may have to store for this registration's
/// Idempotency-Key, rendered now (the 201 split around its team ID, which only the transaction
/// knows, and the body of each refusal), so that a replay is byte-identical to the first answer
/// and storage never renders a response.
IdempotentAnswers idempotent_answers(const Registration& registration, int teams_per_church);

}  // namespace teamreg
