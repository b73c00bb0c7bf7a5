#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/registration.hpp"
#include "ids/team_id.hpp"

namespace teamreg::storage::admin_rules {

// The outcomes every AdminStore adapter reports, built in one place so that SQLite and PostgreSQL
// answer with the same codes, messages and fields.

inline Error team_not_found() {
  return Error{ErrorCode::kTeamNotFound, "Team not found", {}, {}};
}

inline Error token_name_taken() {
  return validation_error("name",
                          "A token with this name exists or existed; token names are never reused");
}

/// A token may not take a user's name, nor a user a token's: an audit actor names one principal.
inline Error name_is_a_user() {
  return validation_error("name",
                          "A user account has this name; tokens and users may not share a name");
}

inline Error user_name_taken() {
  return validation_error("name",
                          "A user with this name exists or existed; user names are never reused");
}

inline Error name_is_a_token() {
  return validation_error("name",
                          "A token has or had this name; tokens and users may not share a name");
}

inline Error email_taken() {
  return Error{ErrorCode::kDuplicateCaptainEmail,
               "Another team is now registered with this captain e-mail",
               "captain_email",
               {}};
}

inline Error team_taken() {
  return Error{ErrorCode::kDuplicateTeam,
               "Another team is now registered with this name and captain phone",
               "team_name",
               {}};
}

/// Un-rejecting a team would put its church over the limit.
inline Error church_full(int teams_per_church) {
  return Error{ErrorCode::kChurchLimitReached,
               church_limit_message(teams_per_church),
               std::string(refusal_field(Refusal::kChurchLimitReached)),
               {}};
}

inline Error negative_number() {
  return validation_error("new_number", "new_number must not be negative");
}

inline Error below_issued(const ids::SequenceFormat& format, std::int64_t new_number,
                          std::int64_t highest_issued) {
  return Error{ErrorCode::kSequenceBelowIssued,
               fmt::format("Cannot reset the sequence to {}: {} is already issued", new_number,
                           ids::format_team_id(format, highest_issued)),
               "new_number",
               {}};
}

/// The audit detail of a reset: the numbers it makes unissuable, if any.
inline std::string reset_detail(std::int64_t highest_issued, std::int64_t new_number) {
  if (new_number <= highest_issued) return "reset";
  const std::int64_t first = highest_issued + 1;
  return first == new_number
             ? fmt::format("reset; number {} will never be issued", first)
             : fmt::format("reset; numbers {} to {} will never be issued", first, new_number);
}

}  // namespace teamreg::storage::admin_rules
