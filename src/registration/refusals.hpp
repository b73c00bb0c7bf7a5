#pragma once

#include "core/error.hpp"
#include "core/registration.hpp"

namespace teamreg {

/// The error a registrant sees for a refusal the commit transaction decided (code, message,
/// details.field), in one place: the answer sent and the one stored for an Idempotency-Key come
/// from here. `by_index` marks a refusal decided by a unique index (a backstop), for the log.
Error refusal_error(Refusal refusal, int teams_per_church, bool by_index = false);

}  // namespace teamreg
