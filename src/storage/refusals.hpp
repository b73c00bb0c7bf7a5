#pragma once

#include <fmt/format.h>

#include "core/error.hpp"

namespace teamreg::storage::refusals {

// Why a registration is refused inside the commit transaction, built in one place so that the
// SQLite and PostgreSQL adapters (and the idempotency pre-check) answer with identical codes,
// messages and fields — stored idempotent responses depend on it.

inline Error duplicate_captain_email() {
  return Error{ErrorCode::kDuplicateCaptainEmail,
               "A team is already registered with this captain e-mail",
               "captain_email",
               {}};
}

inline Error duplicate_team() {
  return Error{ErrorCode::kDuplicateTeam,
               "A team with this name and captain phone is already registered",
               "team_name",
               {}};
}

inline Error church_limit_reached(int teams_per_church) {
  return Error{ErrorCode::kChurchLimitReached,
               fmt::format("Maximum {} teams already registered for this church", teams_per_church),
               "church_name",
               {}};
}

/// A unique index fired although the checks under the sequence lock passed: a backstop.
inline Error unique_constraint_backstop() {
  return Error{ErrorCode::kDuplicateTeam, "This team is already registered", "team_name",
               "unique constraint fired on teams insert"};
}

inline Error idempotency_key_reused() {
  return Error{ErrorCode::kIdempotencyKeyReused,
               "This Idempotency-Key was already used with a different request",
               "Idempotency-Key",
               {}};
}

}  // namespace teamreg::storage::refusals
