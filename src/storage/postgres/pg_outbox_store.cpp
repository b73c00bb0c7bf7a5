#include "storage/postgres/pg_outbox_store.hpp"

#include <cmath>

namespace teamreg::storage::postgres {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kQueue =
    "INSERT INTO mail_outbox (kind, team_id, recipient, cc, reason, created_at, next_attempt_at) "
    "SELECT $1, team_id, captain_email, vice_email, $3, date_trunc('milliseconds', "
    "clock_timestamp()), date_trunc('milliseconds', clock_timestamp()) "
    "FROM teams WHERE team_id = $2 ON CONFLICT DO NOTHING";
constexpr std::string_view kClaim =
    "UPDATE mail_outbox SET attempts = attempts + 1, claim = $1,"
    " next_attempt_at = clock_timestamp() + $2::bigint * interval '1 millisecond' "
    "WHERE id = (SELECT id FROM mail_outbox"
    " WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()"
    " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, kind, team_id, recipient, cc, COALESCE(reason, ''), attempts";
constexpr std::string_view kMarkSent =
    "UPDATE mail_outbox SET status = 'sent', sent_at = date_trunc('milliseconds',"
    " clock_timestamp()), claim = NULL, last_error = NULL WHERE id = $1 AND status = 'pending'";
constexpr std::string_view kMarkRetry =
    "UPDATE mail_outbox SET next_attempt_at = clock_timestamp() + $3::bigint * interval"
    " '1 millisecond', claim = NULL, last_error = $4 "
    "WHERE id = $1 AND claim = $2 AND status = 'pending'";
constexpr std::string_view kMarkDead =
    "UPDATE mail_outbox SET status = 'dead', claim = NULL, last_error = $3 "
    "WHERE id = $1 AND claim = $2 AND status = 'pending'";
constexpr std::string_view kNextDue =
    "SELECT (extract(epoch FROM min(next_attempt_at) - clock_timestamp()) * 1000)::bigint "
    "FROM mail_outbox WHERE status = 'pending'";
// One statement, so the count and the page come from one snapshot.
constexpr std::string_view kList =
    "SELECT c.total, p.id, p.kind, p.team_id, p.recipient, p.cc, p.status, p.attempts,"
    " teamreg_iso8601(p.created_at), teamreg_iso8601(p.next_attempt_at),"
    " teamreg_iso8601(p.sent_at), p.last_error "
    "FROM (SELECT count(*) AS total FROM mail_outbox WHERE $1 = '' OR status = $1) c "
    "LEFT JOIN LATERAL (SELECT * FROM mail_outbox WHERE $1 = '' OR status = $1"
    " ORDER BY id DESC LIMIT $2 OFFSET $3) p ON true ORDER BY p.id DESC";
constexpr std::string_view kLockRow = "SELECT status FROM mail_outbox WHERE id = $1 FOR UPDATE";
constexpr std::string_view kRequeue =
    "UPDATE mail_outbox SET status = 'pending', attempts = 0, claim = NULL,"
    " next_attempt_at = date_trunc('milliseconds', clock_timestamp()) WHERE id = $1";
constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (at, actor, action, subject, from_value, to_value) "
    "VALUES (date_trunc('milliseconds', clock_timestamp()), $1, 'outbox.retry', $2, 'dead',"
    " 'pending')";
constexpr std::string_view kStats =
    "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'sent'),"
    " count(*) FILTER (WHERE status = 'dead'),"
    " COALESCE(extract(epoch FROM clock_timestamp() - min(created_at)"
    "  FILTER (WHERE status = 'pending')), 0)::float8 "
    "FROM mail_outbox";

}  // namespace

void queue_mail(Connection& connection, std::string_view kind, std::string_view team_id,
                std::string_view reason) {
  connection.exec("queue mail", kQueue,
                  {kind, team_id, reason.empty() ? Param(std::nullopt) : Param(reason)});
}

PgOutboxStore::PgOutboxStore(PoolConfig config) : pool_(std::move(config)) {}

std::optional<ClaimedMail> PgOutboxStore::claim(std::string_view claim, milliseconds lease) {
  auto db = pool_.acquire();
  const Result row =
      db->exec("claim mail", kClaim, {claim, static_cast<std::int64_t>(lease.count())});
  if (row.rows() == 0) return std::nullopt;
  return ClaimedMail{row.int64(0, 0),
                     row.text(0, 1),
                     row.text(0, 2),
                     row.text(0, 3),
                     row.text(0, 4),
                     row.text(0, 5),
                     static_cast<int>(row.int64(0, 6))};
}

void PgOutboxStore::mark_sent(std::int64_t id) {
  auto db = pool_.acquire();
  db->exec("mark mail sent", kMarkSent, {id});
}

void PgOutboxStore::mark_failed(std::int64_t id, std::string_view claim,
                                std::optional<milliseconds> retry_in, std::string_view error) {
  auto db = pool_.acquire();
  if (retry_in) {
    db->exec("mark mail for retry", kMarkRetry,
             {id, claim, static_cast<std::int64_t>(retry_in->count()), error});
  } else {
    db->exec("mark mail dead", kMarkDead, {id, claim, error});
  }
}

std::optional<milliseconds> PgOutboxStore::next_due() {
  auto db = pool_.acquire();
  const Result row = db->exec("next mail due", kNextDue);
  if (row.rows() == 0 || row.is_null(0, 0)) return std::nullopt;
  return milliseconds(row.int64(0, 0));
}

OutboxPage PgOutboxStore::list(std::string_view status, int limit, int offset) {
  auto db = pool_.acquire();
  const Result rows = db->exec("list outbox", kList, {status, limit, offset});
  OutboxPage page;
  for (int r = 0; r < rows.rows(); ++r) {
    page.total = rows.int64(r, 0);
    if (rows.is_null(r, 1)) continue;  // the count's row when the page is empty
    OutboxRow row;
    row.id = rows.int64(r, 1);
    row.kind = rows.text(r, 2);
    row.team_id = rows.text(r, 3);
    row.recipient = rows.text(r, 4);
    row.cc = rows.text(r, 5);
    row.status = rows.text(r, 6);
    row.attempts = static_cast<int>(rows.int64(r, 7));
    row.created_at = rows.text(r, 8);
    if (row.status == "pending") row.next_attempt_at = rows.optional_text(r, 9);
    row.sent_at = rows.optional_text(r, 10);
    row.last_error = rows.optional_text(r, 11);
    page.rows.push_back(std::move(row));
  }
  return page;
}

RetryOutcome PgOutboxStore::retry(std::int64_t id, std::string_view actor) {
  auto db = pool_.acquire();
  Transaction tx(*db);
  const Result row = db->exec("lock mail", kLockRow, {id});
  if (row.rows() == 0) return RetryOutcome::kNotFound;
  const std::string status = row.text(0, 0);
  if (status == "sent") return RetryOutcome::kAlreadySent;
  if (status == "pending") return RetryOutcome::kAlreadyPending;
  db->exec("requeue mail", kRequeue, {id});
  db->exec("insert audit", kInsertAudit, {actor, std::to_string(id)});
  tx.commit();
  return RetryOutcome::kRequeued;
}

OutboxStats PgOutboxStore::stats() {
  auto db = pool_.acquire();
  const Result row = db->exec("outbox stats", kStats);
  OutboxStats stats;
  stats.pending = row.int64(0, 0);
  stats.sent = row.int64(0, 1);
  stats.dead = row.int64(0, 2);
  stats.oldest_pending_seconds = std::stod(row.text(0, 3));
  return stats;
}

}  // namespace teamreg::storage::postgres
