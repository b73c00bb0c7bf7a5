#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "ids/team_id.hpp"
#include "registration/model.hpp"

namespace teamreg::storage {

/// Thrown by adapters when the database cannot be reached or a transaction could not complete
/// for a reason that a retry may fix (busy, serialization failure, lost connection). The message
/// is for logs only (it never contains SQL text or a password).
class TransientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Rules the commit transaction enforces under the sequence lock.
struct CommitRules {
  std::string sequence_name = "team";
  int teams_per_church = 2;
};

struct Committed {
  std::int64_t number = 0;
  std::string team_id;
  std::string body;  ///< the 201 body, also stored for idempotent replays
};

/// A stored response for an Idempotency-Key seen before with the same fingerprint.
struct Replayed {
  unsigned status = 0;
  std::string body;
};

using CommitOutcome = std::variant<Committed, Replayed, Error>;

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
  virtual std::vector<CommitOutcome> commit_batch(std::span<const Registration> batch,
                                                  const CommitRules& rules) = 0;

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
