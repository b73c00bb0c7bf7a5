#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "admin/csv_export.hpp"
#include "core/error.hpp"
#include "storage/admin_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/store.hpp"

namespace teamreg::admin {

struct AdminConfig {
  std::string sequence_name = "team";
  int teams_per_church = 2;
  /// Queue a mail with every confirm and reject (mail is configured).
  bool queue_mail = false;
  /// Called after a change queued a mail (wakes this process's delivery worker).
  std::function<void()> mail_queued;
};

struct SequenceView {
  std::int64_t current_number = 0;  ///< last number handed out (or set by a reset)
  std::string next_team_id;
  std::int64_t highest_issued = 0;
};

struct ResetResult {
  std::int64_t previous_number = 0;
  SequenceView now;
  bool changed = false;
  std::int64_t skipped_numbers =
      0;  ///< numbers above the highest issued one that will never be issued
};

struct SyncResult {
  bool changed = false;
  std::int64_t previous_number = 0;
  SequenceView now;
};

/// Every admin operation, shared by the HTTP routes and the CLI so both take one code path.
/// Plain synchronous code: `actor` is the token name (or "cli") written to the audit log.
class AdminService final {
 public:
  AdminService(storage::Store& store, storage::AdminStore& admin_store,
               storage::OutboxStore& outbox, AdminConfig config);

  /// True when confirm and reject queue a mail.
  bool queues_mail() const { return config_.queue_mail; }

  /// The new token, to be shown once; kValidationFailed (field "name") for a bad or used name.
  tl::expected<std::string, Error> create_token(std::string_view name, std::string_view actor);
  std::vector<storage::AdminTokenInfo> list_tokens();
  /// kNotFound when no active token has that name.
  tl::expected<void, Error> revoke_token(std::string_view name, std::string_view actor);

  /// kValidationFailed for an unknown status or an over-long search.
  tl::expected<storage::AdminTeamPage, Error> list_teams(const storage::AdminTeamQuery& query);
  std::optional<storage::TeamRecord> team(std::string_view team_id);
  std::optional<storage::PlayerDetail> player(std::string_view player_id);
  std::optional<storage::DocumentRecord> document(std::string_view team_id, std::string_view field);

  tl::expected<storage::StatusChange, Error> confirm(std::string_view team_id,
                                                     std::string_view actor);
  /// `reason` is trimmed; at most 500 characters.
  tl::expected<storage::StatusChange, Error> reject(std::string_view team_id,
                                                    std::string_view reason,
                                                    std::string_view actor);

  SequenceView sequence();
  /// new_number < 0 or absurdly large: kValidationFailed (field new_number); below the highest
  /// issued number: kSequenceBelowIssued, nothing changed.
  tl::expected<ResetResult, Error> reset_sequence(std::int64_t new_number, std::string_view actor);
  /// Raises the sequence to the highest issued number if behind; never lowers it.
  SyncResult sync_sequence(std::string_view actor);

  storage::AuditPage audit(int limit, int offset);

  /// `status` empty, pending, sent or dead (else kValidationFailed, field "status").
  tl::expected<storage::OutboxPage, Error> outbox(std::string_view status, int limit, int offset);
  /// A dead mail becomes pending again, due now (audited). A pending one is left as it is
  /// (changed false); kMailAlreadySent for a sent one, kNotFound for no such mail.
  tl::expected<bool, Error> retry_mail(std::int64_t id, std::string_view actor);
  /// Every team with its players as CSV, produced a page at a time (CsvExport).
  CsvExport export_csv();

 private:
  SequenceView view_of(const storage::SequenceState& state, std::int64_t current) const;
  void notify_if_queued(const tl::expected<storage::StatusChange, Error>& change);

  storage::Store& store_;
  storage::AdminStore& admin_store_;
  storage::OutboxStore& outbox_;
  AdminConfig config_;
};

/// Largest value a reset accepts: 12 digits, the widest team number the ID format allows.
inline constexpr std::int64_t kMaxSequenceNumber = 999'999'999'999;
inline constexpr std::size_t kMaxReasonChars = 500;
inline constexpr std::size_t kMaxSearchChars = 100;

}  // namespace teamreg::admin
