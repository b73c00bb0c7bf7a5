#pragma once

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace teamreg {

// The registration as plain domain data: what registration/ validates and storage/ commits. It
// lives in core/ so that the storage port can take it without depending on the feature folder.

/// A document staged on disk under a server-generated key; never named by the client.
struct StagedDocument {
  std::string field;         ///< form field, e.g. "pastor_letter" or "player_3_aadhar_file"
  std::string storage_key;   ///< server-generated UUID; the file name in the blob store
  std::string content_type;  ///< sniffed from content: image/png, image/jpeg or application/pdf
  std::uint64_t size_bytes = 0;
};

struct Person {
  std::string name;
  std::string phone;     ///< 10 digits
  std::string email;     ///< lower-cased
  std::string whatsapp;  ///< 10 digits or empty
};

struct Player {
  std::string name;
  std::string role;  ///< empty or one of Batsman, Bowler, All-Rounder, Wicket-Keeper
};

/// Why the commit transaction refuses a registration: a rule decided under the sequence lock.
enum class Refusal : std::uint8_t {
  kDuplicateCaptainEmail,
  kDuplicateTeam,
  kChurchLimitReached,
  /// A unique index fired although the checks under the lock passed: a backstop.
  kUniqueConstraintBackstop,
  /// The Idempotency-Key belongs to a different request (its answer is never stored for this one).
  kIdempotencyKeyReused,
};
inline constexpr std::size_t kRefusalCount = 5;

/// The form field a refusal is about (goes to details.field).
constexpr std::string_view refusal_field(Refusal refusal) {
  switch (refusal) {
    case Refusal::kDuplicateCaptainEmail: return "captain_email";
    case Refusal::kDuplicateTeam:
    case Refusal::kUniqueConstraintBackstop: return "team_name";
    case Refusal::kChurchLimitReached: return "church_name";
    case Refusal::kIdempotencyKeyReused: return "Idempotency-Key";
  }
  return {};
}

/// The church-limit sentence, the same for a registration and for an organizer's un-reject (the
/// old web client shows it as it is).
inline std::string church_limit_message(int teams_per_church) {
  return fmt::format("Maximum {} teams already registered for this church", teams_per_church);
}

/// A response to replay for an Idempotency-Key: status and body, opaque bytes to storage.
struct StoredAnswer {
  unsigned status = 0;
  std::string body;
};

/// The answers registration/ rendered for this request before it is committed, so the commit
/// transaction can store the one that applies under the Idempotency-Key (invariant 6) without
/// storage knowing anything about responses. Storage only splices and stores these bytes.
struct IdempotentAnswers {
  /// The answer when the registration commits: status, and a body that is
  /// created_head + the team ID as a JSON string + created_tail.
  unsigned created_status = 0;
  std::string created_head;
  std::string created_tail;
  /// The answer for each Refusal, by its index; the one for kIdempotencyKeyReused is never stored.
  std::array<StoredAnswer, kRefusalCount> refused;

  const StoredAnswer& for_refusal(Refusal refusal) const {
    return refused.at(static_cast<std::size_t>(refusal));
  }
};

/// A validated registration, ready to commit. Plain data, passed by value.
struct Registration {
  std::string request_uuid;  ///< unique per request; resolves ambiguous commits
  std::string request_id;    ///< X-Request-ID, for logs and stored responses
  std::string team_name;
  std::string team_key;  ///< team_name normalised for uniqueness (filled by validation)
  std::string church_name;
  std::string church_key;  ///< church_name normalised for the per-church limit (by validation)
  Person captain;
  Person vice;
  std::vector<Player> players;
  std::vector<StagedDocument> documents;
  std::string idempotency_key;  ///< empty when the client sent none
  std::string
      idempotency_fingerprint;  ///< hash of the parsed form (field names, values, file bytes)
  IdempotentAnswers answers;    ///< needed only with an idempotency_key
};

}  // namespace teamreg
