// The accounts and sessions half of SqliteAdminStore (sqlite_admin_store.hpp): users of the
// organizers' console and their cookie sessions.
#include <chrono>

#include "core/clock.hpp"
#include "storage/admin_rules.hpp"
#include "storage/sqlite/sqlite_admin_store.hpp"
#include "storage/sqlite/sqlite_sequence.hpp"

namespace teamreg::storage::sqlite {
namespace {

constexpr std::string_view kTokenNamed = "SELECT 1 FROM admin_tokens WHERE name = ?1";
constexpr std::string_view kInsertUser =
    "INSERT INTO admin_users (name, role, password_hash, created_at, password_changed_at) "
    "VALUES (?1, ?2, ?3, ?4, ?4)";
constexpr std::string_view kListUsers =
    "SELECT u.name, u.role, u.created_at, u.password_changed_at, u.disabled_at,"
    " (SELECT MAX(s.last_seen_at) FROM admin_sessions s WHERE s.user_id = u.id) "
    "FROM admin_users u ORDER BY u.id";
constexpr std::string_view kSelectCredentials =
    "SELECT name, role, password_hash, disabled_at IS NOT NULL FROM admin_users WHERE name = ?1";
constexpr std::string_view kDisableUser =
    "UPDATE admin_users SET disabled_at = ?2 WHERE name = ?1 AND disabled_at IS NULL "
    "RETURNING id";
constexpr std::string_view kSetPassword =
    "UPDATE admin_users SET password_hash = ?2, password_changed_at = ?3 "
    "WHERE name = ?1 AND disabled_at IS NULL RETURNING id";
constexpr std::string_view kEndUserSessions =
    "UPDATE admin_sessions SET ended_at = ?2, end_reason = ?3 "
    "WHERE user_id = ?1 AND ended_at IS NULL";
// The password hash a login verified against must still be the stored one: a login racing a
// set-password or a disable creates no session.
constexpr std::string_view kInsertSession =
    "INSERT INTO admin_sessions (id_hash, user_id, created_at, last_seen_at) "
    "SELECT ?1, id, ?3, ?3 FROM admin_users "
    "WHERE name = ?2 AND password_hash = ?4 AND disabled_at IS NULL";
constexpr std::string_view kSelectSession =
    "SELECT u.name, u.role,"
    " CAST(round((julianday(?2) - julianday(s.last_seen_at)) * 86400000.0) AS INTEGER) "
    "FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id "
    "WHERE s.id_hash = ?1 AND s.ended_at IS NULL AND u.disabled_at IS NULL";
constexpr std::string_view kTouchSession =
    "UPDATE admin_sessions SET last_seen_at = ?2 WHERE id_hash = ?1 AND ended_at IS NULL";
constexpr std::string_view kEndSession =
    "UPDATE admin_sessions SET ended_at = ?2, end_reason = ?3 "
    "WHERE id_hash = ?1 AND ended_at IS NULL RETURNING user_id";

std::string_view end_reason(SessionEnd reason) {
  switch (reason) {
    case SessionEnd::kLogout: return "logout";
    case SessionEnd::kDisabled: return "disabled";
    case SessionEnd::kPassword: return "password";
  }
  return "logout";
}

}  // namespace

tl::expected<void, Error> SqliteAdminStore::create_user(const NewUser& user,
                                                        std::string_view actor) {
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);  // the write lock also orders token creations
  if (writer_->prepare(kTokenNamed).bind(1, user.name).step()) {
    return tl::unexpected(admin_rules::name_is_a_token());
  }
  auto insert = writer_->prepare(kInsertUser);
  insert.bind(1, user.name).bind(2, user.role).bind(3, user.password_hash).bind(4, now_iso8601());
  insert.step();
  if (insert.constraint_failed()) return tl::unexpected(admin_rules::user_name_taken());
  insert_audit(*writer_,
               AuditRecord{actor, "user.create", user.name, std::nullopt, user.role, std::nullopt});
  tx.commit();
  return {};
}

std::vector<AdminUserInfo> SqliteAdminStore::list_users() {
  auto db = readers_.acquire();
  auto select = db->prepare(kListUsers);
  std::vector<AdminUserInfo> users;
  while (select.step()) {
    users.push_back(AdminUserInfo{select.text(0), select.text(1), select.text(2), select.text(3),
                                  select.optional_text(4), select.optional_text(5)});
  }
  return users;
}

std::optional<UserCredentials> SqliteAdminStore::find_credentials(std::string_view name) {
  auto db = readers_.acquire();
  auto select = db->prepare(kSelectCredentials);
  if (!select.bind(1, name).step()) return std::nullopt;
  return UserCredentials{select.text(0), select.text(1), select.text(2), select.int64(3) != 0};
}

bool SqliteAdminStore::disable_user(std::string_view name, std::string_view actor) {
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);
  const std::string now = now_iso8601();
  auto update = writer_->prepare(kDisableUser);
  if (!update.bind(1, name).bind(2, now).step()) return false;
  const std::int64_t id = update.int64(0);
  update.reset();  // finishes the RETURNING statement before the next one
  writer_->prepare(kEndUserSessions)
      .bind(1, id)
      .bind(2, now)
      .bind(3, end_reason(SessionEnd::kDisabled))
      .step();
  insert_audit(*writer_,
               AuditRecord{actor, "user.disable", name, std::nullopt, std::nullopt, std::nullopt});
  tx.commit();
  return true;
}

bool SqliteAdminStore::set_password(std::string_view name, std::string_view password_hash,
                                    std::string_view actor) {
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);
  const std::string now = now_iso8601();
  auto update = writer_->prepare(kSetPassword);
  if (!update.bind(1, name).bind(2, password_hash).bind(3, now).step()) return false;
  const std::int64_t id = update.int64(0);
  update.reset();
  writer_->prepare(kEndUserSessions)
      .bind(1, id)
      .bind(2, now)
      .bind(3, end_reason(SessionEnd::kPassword))
      .step();
  insert_audit(*writer_,
               AuditRecord{actor, "user.password", name, std::nullopt, std::nullopt, std::nullopt});
  tx.commit();
  return true;
}

bool SqliteAdminStore::create_session(std::string_view id_hash, std::string_view user,
                                      std::string_view password_hash) {
  const std::lock_guard lock(writer_mutex_);
  auto insert = writer_->prepare(kInsertSession);
  insert.bind(1, id_hash).bind(2, user).bind(3, now_iso8601()).bind(4, password_hash).step();
  if (insert.constraint_failed()) {
    throw std::runtime_error("session id collision");  // 256 random bits: never in practice
  }
  return sqlite3_changes(writer_->handle()) == 1;
}

std::optional<SessionRecord> SqliteAdminStore::find_session(
    std::string_view id_hash, std::chrono::milliseconds idle_timeout) {
  auto db = readers_.acquire();
  auto select = db->prepare(kSelectSession);
  if (!select.bind(1, id_hash).bind(2, now_iso8601()).step()) return std::nullopt;
  SessionRecord session{select.text(0), select.text(1), std::chrono::milliseconds(select.int64(2))};
  if (session.idle >= idle_timeout) return std::nullopt;
  return session;
}

void SqliteAdminStore::touch_session(std::string_view id_hash) {
  const std::lock_guard lock(writer_mutex_);
  writer_->prepare(kTouchSession).bind(1, id_hash).bind(2, now_iso8601()).step();
}

bool SqliteAdminStore::end_session(std::string_view id_hash, SessionEnd reason) {
  const std::lock_guard lock(writer_mutex_);
  auto update = writer_->prepare(kEndSession);
  return update.bind(1, id_hash).bind(2, now_iso8601()).bind(3, end_reason(reason)).step();
}

}  // namespace teamreg::storage::sqlite
