#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "storage/postgres/pg_connection.hpp"
#include "storage/store.hpp"

namespace teamreg::storage::postgres {

struct PgConfig {
  /// postgresql://… URL or key=value string; empty or "postgresql://" = the libpq environment.
  std::string dsn;
  std::size_t pool_size = 8;  ///< connections for reads, sync and migrations
  /// Longest wait for a free pooled connection before TransientError (→ 503 + Retry-After).
  std::chrono::milliseconds acquire_timeout{5000};
  /// Connections only commit_batch and find_committed use (the committer is one thread), so a
  /// burst of reads never starves commits.
  std::size_t commit_connections = 1;
  /// Longest wait for one statement's answer or a new connection (Connection::exec).
  std::chrono::milliseconds statement_timeout = kDefaultStatementTimeout;
};

/// The production adapter: several teamreg processes may share the database. A batch commits in
/// one statement (the teamreg_register_batch function of migrations/postgres/0001_initial.sql),
/// so the sequence row lock lasts one round trip plus the commit.
class PgStore final : public Store {
 public:
  explicit PgStore(PgConfig config);

  void migrate(const std::string& sequence_name, const ids::SequenceFormat& format) override;
  /// A lost connection during the call is an ambiguous outcome and throws AmbiguousCommitError;
  /// re-sending the same batch is safe: registrations that did commit are found by request_uuid
  /// and answered with their team, without a new number.
  std::vector<CommitOutcome> commit_batch(std::span<const Registration> batch,
                                          const CommitRules& rules) override;
  std::optional<Committed> find_committed(std::string_view request_uuid) override;
  std::optional<StoredResponse> find_idempotent(std::string_view key) override;
  TeamPage list_teams(int limit, int offset) override;
  std::optional<TeamRecord> find_team(std::string_view team_id) override;
  std::vector<ChurchCount> church_counts() override;
  SequenceState sequence(const std::string& name) override;
  SequenceState sync_sequence(const std::string& name, std::string_view actor) override;
  std::vector<std::string> referenced_keys(std::span<const std::string> keys) override;
  void purge_idempotency() override;
  bool ping() override;
  int schema_version() override;
  std::vector<std::string> unique_keys() override;

 private:
  /// Runs a read on a pooled connection, once more on a fresh one if the first connection turned
  /// out to be dead (server restarted while it sat idle).
  template <typename F>
  auto read(F&& query);
  template <typename F>
  auto read_on(ConnectionPool& pool, F&& query);

  ConnectionPool pool_;
  ConnectionPool commit_pool_;
};

}  // namespace teamreg::storage::postgres
