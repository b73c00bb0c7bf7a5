#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/registration.hpp"
#include "ids/team_id.hpp"

namespace teamreg::storage {

/// Thrown by adapters when the database cannot be reached or a transaction could not complete
/// for a reason that a retry may fix (busy, serialization failure, lost connection). The message
/// is for logs only (it never contains SQL text or a password).
class TransientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A TransientError because the database did not answer in time (a stalled network or server).
/// Retrying at once would wait just as long, so reads do not; the connection is closed.
class StatementTimeoutError final : public TransientError {
 public:
  using TransientError::TransientError;
};

/// A TransientError after which the outcome is unknown: the commit may have been applied (the
/// connection was lost while COMMIT was in flight). The caller must look the registrations up by
/// request_uuid before telling anyone that nothing was stored.
class AmbiguousCommitError final : public TransientError {
 public:
  using TransientError::TransientError;
};

/// Rules the commit transaction enforces under the sequence lock.
struct CommitRules {
  std::string sequence_name = "team";
  int teams_per_church = 2;
  /// Queue a `received` mail (outbox_store.hpp) for each registration committed, in the same
  /// transaction. Off when no mail is configured.
  bool queue_mail = false;
};

/// The registration is stored under this number (now, or by an earlier attempt of the same
/// request_uuid).
struct Committed {
  std::int64_t number = 0;
  std::string team_id;
};

/// A stored answer for an Idempotency-Key seen before with the same fingerprint (the bytes the
/// registration's IdempotentAnswers gave when it was decided).
struct Replayed {
  unsigned status = 0;
  std::string body;
};

/// The registration broke a rule; nothing of it was stored (but its answer, under its key).
struct Refused {
  Refusal rule = Refusal::kUniqueConstraintBackstop;
  std::string_view field;  ///< the form field at fault, refusal_field(rule)
  bool by_index = false;   ///< decided by a unique index (a backstop), not by the checks
};

inline Refused refused(Refusal rule, bool by_index = false) {
  return Refused{rule, refusal_field(rule), by_index};
}

/// Domain outcomes only: turning them into responses is the caller's business.
using CommitOutcome = std::variant<Committed, Replayed, Refused>;

struct StoredResponse {
  std::string fingerprint;
  unsigned status = 0;
  std::string body;
};

struct TeamSummary {
  std::string team_id;
  std::int64_t number = 0;
  std::string team_name;
  std::string church_name;
  std::string captain_name;
  std::string registration_date;  ///< ISO 8601 UTC
  std::string status;             ///< pending | confirmed | rejected
};

struct PlayerRecord {
  std::string player_id;
  int position = 0;
  std::string name;
  std::string role;
};

struct DocumentRecord {
  std::string field;
  std::string storage_key;
  std::string content_type;
  std::uint64_t size_bytes = 0;
};

struct TeamRecord {
  TeamSummary summary;
  Person captain;
  Person vice;
  std::vector<PlayerRecord> players;
  std::vector<DocumentRecord> documents;
};

struct TeamPage {
  std::int64_t total = 0;
  std::vector<TeamSummary> teams;
};

struct ChurchCount {
  std::string church_name;
  int team_count = 0;
};

struct SequenceState {
  std::string name;
  ids::SequenceFormat format;
  std::int64_t last_number = 0;
  std::int64_t highest_issued = 0;  ///< highest number among stored team IDs of this prefix
};

/// The database port: one behaviour, implemented by the SQLite and PostgreSQL adapters.
/// All methods are thread-safe. Infrastructure failures throw (TransientError when retryable).
class Store {
 public:
  virtual ~Store() = default;

  /// Applies pending migrations (idempotent, safe when several processes start at once) and
  /// creates the sequence row if missing.
  virtual void migrate(const std::string& sequence_name, const ids::SequenceFormat& format) = 0;

  /// Commits a batch of validated registrations in one transaction, allocating numbers in order.
  /// Each registration is isolated: one that fails (duplicate, church limit, reused key) rolls
  /// back only itself and its number. Returns one outcome per registration, same order.
  /// A sequence found behind the issued numbers is raised (never lowered) by the same
  /// transaction, with a warning in the log, and the registration gets the next free number.
  /// With an Idempotency-Key, the answer that applies (from registration.answers) is stored in
  /// the same transaction. AmbiguousCommitError when the outcome is unknown.
  virtual std::vector<CommitOutcome> commit_batch(std::span<const Registration> batch,
                                                  const CommitRules& rules) = 0;

  /// The team a request committed, by its request_uuid: resolves an ambiguous commit.
  virtual std::optional<Committed> find_committed(std::string_view request_uuid) = 0;

  /// The stored response for an Idempotency-Key, if one is younger than the retention period.
  virtual std::optional<StoredResponse> find_idempotent(std::string_view key) = 0;

  virtual TeamPage list_teams(int limit, int offset) = 0;
  virtual std::optional<TeamRecord> find_team(std::string_view team_id) = 0;
  /// Churches with at least one non-rejected team, sorted by name.
  virtual std::vector<ChurchCount> church_counts() = 0;

  virtual SequenceState sequence(const std::string& name) = 0;
  /// Raises last_number to the highest issued number if behind; never lowers it.
  /// Returns the state before the change.
  virtual SequenceState sync_sequence(const std::string& name, std::string_view actor) = 0;

  /// Of the given storage keys, those that some team's document references.
  virtual std::vector<std::string> referenced_keys(std::span<const std::string> keys) = 0;
  /// Deletes idempotency records older than the retention period.
  virtual void purge_idempotency() = 0;

  /// True when the database answers a trivial query.
  virtual bool ping() = 0;

  /// Highest applied migration version (0 when none).
  virtual int schema_version() = 0;
  /// Every unique index as "table(col1,col2)", for `teamreg check` (see schema_check.hpp).
  virtual std::vector<std::string> unique_keys() = 0;
};

}  // namespace teamreg::storage
