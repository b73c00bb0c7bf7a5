#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace teamreg::storage {

// The e-mail outbox (migrations/*/…_mail_outbox.sql). Rows are written by the transactions that
// cause a mail: Store::commit_batch when CommitRules::queue_mail is set (`received`), and
// AdminStore::set_status when StatusRequest::queue_mail is set (`confirmed`, `rejected`). This port
// is what the delivery worker and the admin routes do with them afterwards.

/// The kinds of mail, as stored in mail_outbox.kind.
inline constexpr std::string_view kMailReceived = "received";
inline constexpr std::string_view kMailConfirmed = "confirmed";
inline constexpr std::string_view kMailRejected = "rejected";

/// A row claimed for delivery: nobody else claims it until the lease runs out.
struct ClaimedMail {
  std::int64_t id = 0;
  std::string kind;  ///< received | confirmed | rejected
  std::string team_id;
  std::string recipient;  ///< the captain's address when the row was written
  std::string cc;         ///< the vice-captain's, or empty
  std::string reason;     ///< a rejection's reason, or empty
  int attempts = 0;       ///< including this one
};

/// One row as operators see it: never a body.
struct OutboxRow {
  std::int64_t id = 0;
  std::string kind;
  std::string team_id;
  std::string recipient;
  std::string cc;
  std::string status;  ///< pending | sent | dead
  int attempts = 0;
  std::string created_at;                      ///< ISO 8601 UTC
  std::optional<std::string> next_attempt_at;  ///< pending rows only
  std::optional<std::string> sent_at;
  std::optional<std::string> last_error;
};

struct OutboxPage {
  std::int64_t total = 0;       ///< rows matching the filter, over all pages
  std::vector<OutboxRow> rows;  ///< newest first
};

struct OutboxStats {
  std::int64_t pending = 0;
  std::int64_t sent = 0;
  std::int64_t dead = 0;
  double oldest_pending_seconds = 0;  ///< age of the oldest pending row; 0 when none
};

enum class RetryOutcome {
  kRequeued,        ///< the dead row is pending again, due now, attempts reset; audited
  kAlreadyPending,  ///< nothing changed
  kAlreadySent,     ///< nothing changed
  kNotFound,
};

/// Thread-safe; infrastructure failures throw as in Store (TransientError when retryable).
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  /// Claims the longest-due pending row: counts the attempt and moves next_attempt_at `lease`
  /// ahead under the claim token `claim`, so that no other worker of any process takes it
  /// meanwhile. Empty when nothing is due.
  virtual std::optional<ClaimedMail> claim(std::string_view claim,
                                           std::chrono::milliseconds lease) = 0;
  /// The server accepted the mail.
  virtual void mark_sent(std::int64_t id) = 0;
  /// The attempt failed: try again after `retry_in`, or never (`dead`) when retry_in is empty.
  /// Ignored when the row is no longer under this claim (its lease ran out and another worker
  /// took it).
  virtual void mark_failed(std::int64_t id, std::string_view claim,
                           std::optional<std::chrono::milliseconds> retry_in,
                           std::string_view error) = 0;
  /// Time until the next pending row is due (zero or less when one is due now); empty when none
  /// is pending.
  virtual std::optional<std::chrono::milliseconds> next_due() = 0;

  /// `status` empty for all, else pending | sent | dead.
  virtual OutboxPage list(std::string_view status, int limit, int offset) = 0;
  /// A dead row becomes pending again (audited as outbox.retry by `actor`).
  virtual RetryOutcome retry(std::int64_t id, std::string_view actor) = 0;
  virtual OutboxStats stats() = 0;
};

}  // namespace teamreg::storage
