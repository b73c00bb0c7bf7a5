#pragma once

#include <string_view>

#include "storage/outbox_store.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace teamreg::storage::postgres {

/// Writes a pending mail about `team_id` inside the caller's transaction, addressed to the team's
/// captain with its vice-captain in copy. (Registrations queue theirs inside the batch function,
/// teamreg_register_batch_with_mail.)
void queue_mail(Connection& connection, std::string_view kind, std::string_view team_id,
                std::string_view reason);

/// The outbox on PostgreSQL, with a small pool of its own. Several processes share one outbox:
/// a claim takes the longest-due row with FOR UPDATE SKIP LOCKED and moves it past its lease in
/// the same statement, so two workers never hold one row at once. Times come from the database
/// clock, which every process shares.
class PgOutboxStore final : public OutboxStore {
 public:
  explicit PgOutboxStore(PoolConfig config);

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
  ConnectionPool pool_;
};

}  // namespace teamreg::storage::postgres
