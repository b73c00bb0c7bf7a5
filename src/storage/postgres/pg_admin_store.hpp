#pragma once

#include <string>

#include "storage/admin_store.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace teamreg::storage::postgres {

/// Taken by every creation of a token or a user, which then looks for the name in the other
/// table: the UNIQUE constraints cover each table alone, and a name must never be both.
inline constexpr std::string_view kLockPrincipalNames =
    "SELECT pg_advisory_xact_lock(hashtextextended('teamreg.admin_principal_names', 0))";

/// The admin port on PostgreSQL, with a small pool of its own. Writes that must not interleave
/// with registrations (a reset, un-rejecting a team) first lock the sequence row, the lock every
/// registration batch takes before it checks or allocates anything, so they are race-safe across
/// processes. Expects the schema to be migrated (PgStore::migrate).
class PgAdminStore final : public AdminStore {
 public:
  explicit PgAdminStore(PoolConfig config);

  tl::expected<void, Error> create_token(std::string_view name, std::string_view token_hash,
                                         std::string_view actor) override;
  std::vector<AdminTokenInfo> list_tokens() override;
  bool revoke_token(std::string_view name, std::string_view actor) override;
  std::vector<ActiveToken> active_tokens() override;
  void touch_token(std::string_view name) override;

  // Accounts and sessions: sqlite_admin_accounts.cpp / pg_admin_accounts.cpp.
  tl::expected<void, Error> create_user(const NewUser& user, std::string_view actor) override;
  std::vector<AdminUserInfo> list_users() override;
  std::optional<UserCredentials> find_credentials(std::string_view name) override;
  bool disable_user(std::string_view name, std::string_view actor) override;
  bool set_password(std::string_view name, std::string_view password_hash,
                    std::string_view actor) override;
  bool create_session(std::string_view id_hash, std::string_view user,
                      std::string_view password_hash) override;
  std::optional<SessionRecord> find_session(std::string_view id_hash,
                                            std::chrono::milliseconds idle_timeout) override;
  void touch_session(std::string_view id_hash) override;
  bool end_session(std::string_view id_hash, SessionEnd reason) override;

  AdminTeamPage list_teams(const AdminTeamQuery& query) override;
  std::optional<PlayerDetail> find_player(std::string_view player_id) override;
  std::optional<DocumentRecord> find_document(std::string_view team_id,
                                              std::string_view field) override;
  tl::expected<StatusChange, Error> set_status(const StatusRequest& request) override;
  tl::expected<SequenceReset, Error> reset_sequence(const std::string& name,
                                                    std::int64_t new_number,
                                                    std::string_view actor) override;
  AuditPage audit(int limit, int offset) override;
  std::vector<ExportRow> export_page(const ExportCursor& after, int max_teams) override;

 private:
  ConnectionPool pool_;
};

}  // namespace teamreg::storage::postgres
