#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "storage/outbox_store.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace teamreg::storage::sqlite {

/// Writes a pending mail about `team_id` inside the caller's write transaction, addressed to the
/// team's captain with its vice-captain in copy. A second `received` row for one team is ignored.
void queue_mail(Connection& connection, std::string_view kind, std::string_view team_id,
                std::string_view reason);

/// The outbox on SQLite, with a connection of its own to the same file. Each claim is one
/// UPDATE … RETURNING, which SQLite's single write lock makes atomic across processes too.
class SqliteOutboxStore final : public OutboxStore {
 public:
  explicit SqliteOutboxStore(std::string path);

  std::optional<ClaimedMail> claim(std::string_view claim,
                                   std::chrono::milliseconds lease) override;
  void mark_sent(std::int64_t id) override;
  void mark_failed(std::int64_t id, std::string_view claim,
                   std::optional<std::chrono::milliseconds> retry_in,
                   std::string_view error) override;
  std::optional<std::chrono::milliseconds> next_due() override;
  OutboxPage list(std::string_view status, int limit, int offset) override;
  RetryOutcome retry(std::int64_t id, std::string_view actor) override;
  OutboxStats stats() override;

 private:
  std::string path_;
  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
};

}  // namespace teamreg::storage::sqlite
