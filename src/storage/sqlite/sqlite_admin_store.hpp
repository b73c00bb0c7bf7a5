#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/admin_store.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace teamreg::storage::sqlite {

/// The admin port on SQLite, with connections of its own to the same file. Writes start with
/// BEGIN IMMEDIATE: SQLite's one write lock serialises them with registrations, so a reset can
/// never interleave with an allocation. Expects the schema to be migrated (SqliteStore::migrate).
class SqliteAdminStore final : public AdminStore {
 public:
  explicit SqliteAdminStore(std::string path);

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
  std::string path_;
  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
};

}  // namespace teamreg::storage::sqlite
