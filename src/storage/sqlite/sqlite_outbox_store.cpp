#include "storage/sqlite/sqlite_outbox_store.hpp"

#include <chrono>
#include <ctime>

#include "core/clock.hpp"
#include "storage/sqlite/sqlite_sequence.hpp"

namespace teamreg::storage::sqlite {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

// Times are ISO 8601 UTC with milliseconds (core/clock.hpp): fixed width, so they compare as text.
constexpr std::string_view kQueue =
    "INSERT INTO mail_outbox (kind, team_id, recipient, cc, reason, created_at, next_attempt_at) "
    "SELECT ?1, team_id, captain_email, vice_email, ?3, ?4, ?4 FROM teams WHERE team_id = ?2 "
    "ON CONFLICT DO NOTHING";
constexpr std::string_view kClaim =
    "UPDATE mail_outbox SET attempts = attempts + 1, claim = ?1, next_attempt_at = ?2 "
    "WHERE id = (SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ?3"
    " ORDER BY next_attempt_at, id LIMIT 1) "
    "RETURNING id, kind, team_id, recipient, cc, reason, attempts";
constexpr std::string_view kMarkSent =
    "UPDATE mail_outbox SET status = 'sent', sent_at = ?2, claim = NULL, last_error = NULL "
    "WHERE id = ?1 AND status = 'pending'";
constexpr std::string_view kMarkRetry =
    "UPDATE mail_outbox SET next_attempt_at = ?3, claim = NULL, last_error = ?4 "
    "WHERE id = ?1 AND claim = ?2 AND status = 'pending'";
constexpr std::string_view kMarkDead =
    "UPDATE mail_outbox SET status = 'dead', claim = NULL, last_error = ?3 "
    "WHERE id = ?1 AND claim = ?2 AND status = 'pending'";
constexpr std::string_view kNextDue =
    "SELECT MIN(next_attempt_at) FROM mail_outbox WHERE status = 'pending'";
constexpr std::string_view kCount = "SELECT COUNT(*) FROM mail_outbox WHERE ?1 = '' OR status = ?1";
constexpr std::string_view kList =
    "SELECT id, kind, team_id, recipient, cc, status, attempts, created_at, next_attempt_at,"
    " sent_at, last_error FROM mail_outbox WHERE ?1 = '' OR status = ?1 "
    "ORDER BY id DESC LIMIT ?2 OFFSET ?3";
constexpr std::string_view kStatus = "SELECT status FROM mail_outbox WHERE id = ?1";
constexpr std::string_view kRequeue =
    "UPDATE mail_outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2, claim = NULL "
    "WHERE id = ?1 AND status = 'dead'";
constexpr std::string_view kCountByStatus =
    "SELECT status, COUNT(*), MIN(created_at) FROM mail_outbox GROUP BY status";

/// Parses the ISO 8601 times this adapter writes (`2026-12-01T10:00:00.000Z`).
std::optional<system_clock::time_point> parse_time(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return system_clock::from_time_t(timegm(&tm)) + milliseconds(ms);
}

}  // namespace

void queue_mail(Connection& connection, std::string_view kind, std::string_view team_id,
                std::string_view reason) {
  auto insert = connection.prepare(kQueue);
  insert.bind(1, kind).bind(2, team_id);
  if (reason.empty()) {
    insert.bind_null(3);
  } else {
    insert.bind(3, reason);
  }
  insert.bind(4, now_iso8601()).step();
}

SqliteOutboxStore::SqliteOutboxStore(std::string path)
    : path_(std::move(path)), writer_(std::make_unique<Connection>(path_)), readers_(path_) {}

std::optional<ClaimedMail> SqliteOutboxStore::claim(std::string_view claim, milliseconds lease) {
  const std::lock_guard lock(writer_mutex_);
  const auto now = system_clock::now();
  auto update = writer_->prepare(kClaim);
  update.bind(1, claim).bind(2, iso8601_utc(now + lease)).bind(3, iso8601_utc(now));
  if (!update.step()) return std::nullopt;
  ClaimedMail mail{update.int64(0),
                   update.text(1),
                   update.text(2),
                   update.text(3),
                   update.text(4),
                   update.optional_text(5).value_or(""),
                   static_cast<int>(update.int64(6))};
  // RETURNING rows are only final once the statement has run to its end.
  while (update.step()) {
  }
  return mail;
}

void SqliteOutboxStore::mark_sent(std::int64_t id) {
  const std::lock_guard lock(writer_mutex_);
  writer_->prepare(kMarkSent).bind(1, id).bind(2, now_iso8601()).step();
}

void SqliteOutboxStore::mark_failed(std::int64_t id, std::string_view claim,
                                    std::optional<milliseconds> retry_in, std::string_view error) {
  const std::lock_guard lock(writer_mutex_);
  if (retry_in) {
    writer_->prepare(kMarkRetry)
        .bind(1, id)
        .bind(2, claim)
        .bind(3, iso8601_utc(system_clock::now() + *retry_in))
        .bind(4, error)
        .step();
  } else {
    writer_->prepare(kMarkDead).bind(1, id).bind(2, claim).bind(3, error).step();
  }
}

std::optional<milliseconds> SqliteOutboxStore::next_due() {
  auto db = readers_.acquire();
  auto select = db->prepare(kNextDue);
  if (!select.step() || select.is_null(0)) return std::nullopt;
  const auto due = parse_time(select.text(0));
  if (!due) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(*due - system_clock::now());
}

OutboxPage SqliteOutboxStore::list(std::string_view status, int limit, int offset) {
  auto db = readers_.acquire();
  Transaction tx(*db, /*immediate=*/false);  // one snapshot for the count and the page
  OutboxPage page;
  {
    auto count = db->prepare(kCount);
    count.bind(1, status).step();
    page.total = count.int64(0);
  }
  auto select = db->prepare(kList);
  select.bind(1, status).bind(2, limit).bind(3, offset);
  while (select.step()) {
    OutboxRow row;
    row.id = select.int64(0);
    row.kind = select.text(1);
    row.team_id = select.text(2);
    row.recipient = select.text(3);
    row.cc = select.text(4);
    row.status = select.text(5);
    row.attempts = static_cast<int>(select.int64(6));
    row.created_at = select.text(7);
    if (row.status == "pending") row.next_attempt_at = select.text(8);
    row.sent_at = select.optional_text(9);
    row.last_error = select.optional_text(10);
    page.rows.push_back(std::move(row));
  }
  return page;
}

RetryOutcome SqliteOutboxStore::retry(std::int64_t id, std::string_view actor) {
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);
  std::string status;
  {
    auto select = writer_->prepare(kStatus);
    if (!select.bind(1, id).step()) return RetryOutcome::kNotFound;
    status = select.text(0);
  }
  if (status == "sent") return RetryOutcome::kAlreadySent;
  if (status == "pending") return RetryOutcome::kAlreadyPending;
  writer_->prepare(kRequeue).bind(1, id).bind(2, now_iso8601()).step();
  const std::string subject = std::to_string(id);
  insert_audit(*writer_, AuditRecord{actor, "outbox.retry", subject, "dead", "pending", {}});
  tx.commit();
  return RetryOutcome::kRequeued;
}

OutboxStats SqliteOutboxStore::stats() {
  auto db = readers_.acquire();
  auto select = db->prepare(kCountByStatus);
  OutboxStats stats;
  while (select.step()) {
    const std::string status = select.text(0);
    const std::int64_t count = select.int64(1);
    if (status == "sent") {
      stats.sent = count;
    } else if (status == "dead") {
      stats.dead = count;
    } else if (status == "pending") {
      stats.pending = count;
      if (const auto oldest = parse_time(select.text(2))) {
        stats.oldest_pending_seconds =
            std::max(0.0, std::chrono::duration<double>(system_clock::now() - *oldest).count());
      }
    }
  }
  return stats;
}

}  // namespace teamreg::storage::sqlite
