#include "registration/refusals.hpp"

#include <string>

namespace teamreg {

Error refusal_error(Refusal refusal, int teams_per_church, bool by_index) {
  const std::string field(refusal_field(refusal));
  std::string detail = by_index ? "unique index fired on teams insert" : "";
  switch (refusal) {
    case Refusal::kDuplicateCaptainEmail:
      return Error{ErrorCode::kDuplicateCaptainEmail,
                   "A team is already registered with this captain e-mail", field,
                   std::move(detail)};
    case Refusal::kDuplicateTeam:
      return Error{ErrorCode::kDuplicateTeam,
                   "A team with this name and captain phone is already registered", field,
                   std::move(detail)};
    case Refusal::kChurchLimitReached:
      return Error{ErrorCode::kChurchLimitReached, church_limit_message(teams_per_church), field,
                   std::move(detail)};
    case Refusal::kUniqueConstraintBackstop:
      return Error{ErrorCode::kDuplicateTeam, "This team is already registered", field,
                   "unique constraint fired on teams insert"};
    case Refusal::kIdempotencyKeyReused:
      return Error{ErrorCode::kIdempotencyKeyReused,
                   "This Idempotency-Key was already used with a different request", field,
                   std::move(detail)};
  }
  return Error{ErrorCode::kInternal, "Internal error", {}, "unknown refusal"};
}

}  // namespace teamreg
