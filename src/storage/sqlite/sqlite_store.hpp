#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/sqlite/sqlite_db.hpp"
#include "storage/store.hpp"

namespace teamreg::storage::sqlite {

/// The embedded default. One writer connection (SQLite has one writer at a time anyway; the
/// committer is its only heavy user) and a small pool of reader connections, which WAL lets run
/// beside the writer.
class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path);

  void migrate(const std::string& sequence_name, const ids::SequenceFormat& format) override;
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
  /// A raise of the sequence by a registration that found its number taken, logged after COMMIT.
  struct SequenceHeal {
    std::int64_t from = 0;  ///< last_number before the raise
    std::int64_t to = 0;    ///< the highest issued number
  };
  CommitOutcome commit_one(const Registration& registration, const CommitRules& rules,
                           std::vector<SequenceHeal>& heals);

  std::string path_;
  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
};

}  // namespace teamreg::storage::sqlite
