#pragma once

#include <string>

#include "storage/admin_store.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace teamreg::storage::postgres {

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

  AdminTeamPage list_teams(const AdminTeamQuery& query) override;
  std::optional<PlayerDetail> find_player(std::string_view player_id) override;
  std::optional<DocumentRecord> find_document(std::string_view team_id,
                                              std::string_view field) override;
  tl::expected<StatusChange, Error> set_status(const StatusRequest& request) override;
  tl::expected<SequenceReset, Error> reset_sequence(const std::string& name,
                                                    std::int64_t new_number,
                                                    std::string_view actor) override;
  AuditPage audit(int limit, int offset) override;
  std::vector<ExportRow> export_rows() override;

 private:
  ConnectionPool pool_;
};

}  // namespace teamreg::storage::postgres
