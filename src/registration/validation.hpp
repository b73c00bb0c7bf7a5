#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "core/error.hpp"
#include "registration/model.hpp"

namespace teamreg {

enum class FieldKind { kText, kFile, kUnknown };

/// What a form field name is, judged by name alone: the fixed text fields, player_{i}_name/role,
/// the document fields (pastor_letter, payment_receipt, group_photo, player_{i}_aadhar_file,
/// player_{i}_subscription_file). Anything else — including malformed indexes such as
/// "player_01_name", "player_-1_name" or indexes above 99 — is kUnknown.
FieldKind classify_field(std::string_view name);

/// Turns a received form into a validated Registration (every API.md rule: trimming, lengths,
/// character sets, phone normalisation, e-mail lower-casing, optional WhatsApp, contiguous players
/// within [min_players, max_players], required documents, no duplicate or unknown field).
/// The first failing rule wins; its Error names the field in `field`.
/// team_key and church_key are filled; request_uuid / request_id / idempotency_* / answers are
/// left empty for the caller to fill.
tl::expected<Registration, Error> validate_registration(const Form& form,
                                                        const RegistrationRules& rules);

/// Key used for the per-church limit: lower-cased, all whitespace removed.
std::string church_key(std::string_view church_name);
/// Key used for team-name uniqueness: lower-cased, runs of whitespace collapsed to one space.
std::string team_key(std::string_view team_name);

}  // namespace teamreg
