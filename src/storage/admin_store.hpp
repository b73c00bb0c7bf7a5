#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>  // store.hpp uses std::runtime_error without including it
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "core/error.hpp"
#include "storage/store.hpp"

namespace teamreg::storage {

/// An admin token as listed by the CLI. Never carries the token or its hash.
struct AdminTokenInfo {
  std::string name;
  std::string created_at;
  std::optional<std::string> revoked_at;
  std::optional<std::string> last_used_at;
};

/// A token that may authenticate: its name and the hex SHA-256 of the token.
struct ActiveToken {
  std::string name;
  std::string token_hash;
  std::optional<std::string> last_used_at;
};

/// A user account as listed by the CLI. Never carries the password hash.
struct AdminUserInfo {
  std::string name;
  std::string role;  ///< admin | viewer
  std::string created_at;
  std::string password_changed_at;
  std::optional<std::string> disabled_at;
  std::optional<std::string> last_seen_at;  ///< the latest request of any of its sessions
};

/// What a login checks: the stored Argon2id string, and whether the account may log in.
struct UserCredentials {
  std::string name;
  std::string role;
  std::string password_hash;
  bool disabled = false;
};

/// A new user: name, role, and the Argon2id string of its password (never the password).
struct NewUser {
  std::string name;
  std::string role;
  std::string password_hash;
};

/// A live session (not ended, user not disabled, seen within the idle timeout) and its user.
struct SessionRecord {
  std::string user;
  std::string role;
  std::chrono::milliseconds idle{0};  ///< since the session was last recorded as seen
};

/// Why a user's sessions were ended.
enum class SessionEnd { kLogout, kDisabled, kPassword };

struct AdminTeamQuery {
  std::string status;  ///< pending | confirmed | rejected, or empty for all
  std::string search;  ///< case-insensitive substring of ID, names, e-mail or phone; empty for all
  int limit = 100;
  int offset = 0;
};

/// One row of the admin team list.
struct AdminTeamRow {
  TeamSummary summary;
  Person captain;
  Person vice;
  int player_count = 0;
  std::vector<std::string> document_fields;  ///< fields with a stored document, e.g. pastor_letter
};

struct AdminTeamPage {
  std::int64_t total = 0;  ///< teams matching the query, over all pages
  std::vector<AdminTeamRow> teams;
};

struct PlayerDetail {
  PlayerRecord player;
  std::string team_id;
  std::string team_name;
  std::string church_name;
  std::vector<std::string> document_fields;  ///< this player's, e.g. player_0_aadhar_file
};

/// A status change asked for by an admin (confirm or reject).
struct StatusRequest {
  std::string team_id;
  std::string status;  ///< confirmed | rejected
  std::string reason;  ///< stored with a rejection; empty for none
  std::string actor;   ///< token name, or "cli"
  int teams_per_church = 2;
  /// Queue the `confirmed` or `rejected` mail (outbox_store.hpp) in the same transaction when the
  /// status changes. Off when no mail is configured.
  bool queue_mail = false;
};

struct StatusChange {
  std::string team_id;
  std::string from;
  std::string to;
  std::optional<std::string> reason;  ///< the stored reason after the change
  bool changed = false;               ///< false: the team already had that status (no audit entry)
};

struct SequenceReset {
  SequenceState before;
  std::int64_t new_number = 0;
  bool changed = false;
};

struct AuditEntry {
  std::int64_t id = 0;
  std::string at;
  std::string actor;
  std::string action;  ///< sequence.*, team.confirm, team.reject, token.*, user.*, outbox.retry
  std::string subject;
  std::optional<std::string> from_value;
  std::optional<std::string> to_value;
  std::optional<std::string> detail;
};

struct AuditPage {
  std::int64_t total = 0;
  std::vector<AuditEntry> entries;  ///< newest first
};

/// One row of the CSV export: a team with one of its players (none for a team without players).
struct ExportRow {
  std::string sequence_name;  ///< with team.number and team.team_id: the team's export key
  TeamSummary team;
  Person captain;
  Person vice;
  std::optional<std::string> status_reason;
  std::optional<PlayerRecord> player;
};

/// Where an export page starts: after the team with this key, in export order (sequence name,
/// number, team ID, compared bytewise). The default value is before every team.
struct ExportCursor {
  std::string sequence_name;
  std::int64_t number = std::numeric_limits<std::int64_t>::min();
  std::string team_id;
};

/// The database port of the admin API. Team detail, the sequence state and sync come from Store
/// (same rows, same rules); this port adds what only admins do. Thread-safe; infrastructure
/// failures throw as in Store.
class AdminStore {
 public:
  virtual ~AdminStore() = default;

  /// Stores a new token under a name never used before (revoked names stay taken); audited.
  /// kValidationFailed (field "name") when the name is taken, by a token or by a user.
  virtual tl::expected<void, Error> create_token(std::string_view name, std::string_view token_hash,
                                                 std::string_view actor) = 0;
  virtual std::vector<AdminTokenInfo> list_tokens() = 0;
  /// Revokes an active token; audited. False when no active token has that name.
  virtual bool revoke_token(std::string_view name, std::string_view actor) = 0;
  /// Every token that is not revoked.
  virtual std::vector<ActiveToken> active_tokens() = 0;
  /// Records that a token was used just now.
  virtual void touch_token(std::string_view name) = 0;

  /// Creates a user, audited (user.create). kValidationFailed (field "name") when a user or a
  /// token has or had that name: names are never reused and never shared by a token and a user.
  virtual tl::expected<void, Error> create_user(const NewUser& user, std::string_view actor) = 0;
  virtual std::vector<AdminUserInfo> list_users() = 0;
  /// For a login; nullopt when no user has that name (disabled users are returned, marked).
  virtual std::optional<UserCredentials> find_credentials(std::string_view name) = 0;
  /// Disables an active user and ends all its sessions, audited (user.disable), atomically.
  /// False when no active user has that name.
  virtual bool disable_user(std::string_view name, std::string_view actor) = 0;
  /// Replaces an active user's password hash and ends all its sessions, audited
  /// (user.password), atomically. False when no active user has that name.
  virtual bool set_password(std::string_view name, std::string_view password_hash,
                            std::string_view actor) = 0;

  /// Starts a session for `user`, unless the user was disabled or its password changed since
  /// `password_hash` was read (a login verified against it): then false and nothing stored.
  virtual bool create_session(std::string_view id_hash, std::string_view user,
                              std::string_view password_hash) = 0;
  /// The session, when it is live: not ended, its user not disabled, and seen less than
  /// `idle_timeout` ago.
  virtual std::optional<SessionRecord> find_session(std::string_view id_hash,
                                                    std::chrono::milliseconds idle_timeout) = 0;
  /// Records that a session was used just now (extends its idle timeout).
  virtual void touch_session(std::string_view id_hash) = 0;
  /// Ends a session that was not ended yet; false when there was none.
  virtual bool end_session(std::string_view id_hash, SessionEnd reason) = 0;

  virtual AdminTeamPage list_teams(const AdminTeamQuery& query) = 0;
  virtual std::optional<PlayerDetail> find_player(std::string_view player_id) = 0;
  virtual std::optional<DocumentRecord> find_document(std::string_view team_id,
                                                      std::string_view field) = 0;

  /// Confirms or rejects a team and audits the change, atomically. Setting the status a team
  /// already has changes nothing and writes no audit entry. Leaving `rejected` re-checks the
  /// slots a rejection freed: kDuplicateCaptainEmail, kDuplicateTeam, kChurchLimitReached.
  /// kTeamNotFound when there is no such team.
  virtual tl::expected<StatusChange, Error> set_status(const StatusRequest& request) = 0;

  /// Sets last_number to new_number under the allocation lock, so it cannot interleave with a
  /// registration, and audits it. kSequenceBelowIssued (nothing changed) when new_number is below
  /// the highest issued number. Setting the current value changes nothing and is not audited.
  virtual tl::expected<SequenceReset, Error> reset_sequence(const std::string& name,
                                                            std::int64_t new_number,
                                                            std::string_view actor) = 0;

  virtual AuditPage audit(int limit, int offset) = 0;
  /// The teams after `after` (at most max_teams of them, max_teams > 0) with their players, in
  /// export order, players by position. Each page is one read; a team committed while pages are
  /// read shows up in a later page when its key sorts after the cursor.
  virtual std::vector<ExportRow> export_page(const ExportCursor& after, int max_teams) = 0;
};

}  // namespace teamreg::storage
