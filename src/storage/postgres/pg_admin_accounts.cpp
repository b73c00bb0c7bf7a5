// The accounts and sessions half of PgAdminStore (pg_admin_store.hpp): users of the organizers'
// console and their cookie sessions. Times come from the database clock, so every process
// sharing the database agrees on when a session was last seen.
#include <chrono>

#include "storage/admin_rules.hpp"
#include "storage/postgres/pg_admin_store.hpp"

namespace teamreg::storage::postgres {
namespace {

constexpr std::string_view kTokenNamed = "SELECT 1 FROM admin_tokens WHERE name = $1";
constexpr std::string_view kInsertUser =
    "INSERT INTO admin_users (name, role, password_hash, created_at, password_changed_at) "
    "SELECT $1, $2, $3, t, t FROM (SELECT date_trunc('milliseconds', clock_timestamp()) AS t) n "
    "ON CONFLICT DO NOTHING RETURNING id";
constexpr std::string_view kListUsers =
    "SELECT u.name, u.role, teamreg_iso8601(u.created_at),"
    " teamreg_iso8601(u.password_changed_at), teamreg_iso8601(u.disabled_at),"
    " (SELECT teamreg_iso8601(max(s.last_seen_at)) FROM admin_sessions s"
    "  WHERE s.user_id = u.id) "
    "FROM admin_users u ORDER BY u.id";
constexpr std::string_view kSelectCredentials =
    "SELECT name, role, password_hash, disabled_at IS NOT NULL FROM admin_users WHERE name = $1";
constexpr std::string_view kDisableUser =
    "UPDATE admin_users SET disabled_at = date_trunc('milliseconds', clock_timestamp()) "
    "WHERE name = $1 AND disabled_at IS NULL RETURNING id";
constexpr std::string_view kSetPassword =
    "UPDATE admin_users SET password_hash = $2,"
    " password_changed_at = date_trunc('milliseconds', clock_timestamp()) "
    "WHERE name = $1 AND disabled_at IS NULL RETURNING id";
constexpr std::string_view kEndUserSessions =
    "UPDATE admin_sessions SET ended_at = date_trunc('milliseconds', clock_timestamp()),"
    " end_reason = $2 WHERE user_id = $1 AND ended_at IS NULL";
// The password hash a login verified against must still be the stored one: a login racing a
// set-password or a disable creates no session. (Both lock the user row first, so the check
// sees their outcome or they see the session.)
constexpr std::string_view kInsertSession =
    "INSERT INTO admin_sessions (id_hash, user_id, created_at, last_seen_at) "
    "SELECT $1, id, t, t FROM admin_users,"
    " (SELECT date_trunc('milliseconds', clock_timestamp()) AS t) n "
    "WHERE name = $2 AND password_hash = $3 AND disabled_at IS NULL "
    "FOR SHARE OF admin_users RETURNING id_hash";
constexpr std::string_view kSelectSession =
    "SELECT u.name, u.role,"
    " (extract(epoch FROM clock_timestamp() - s.last_seen_at) * 1000)::bigint "
    "FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id "
    "WHERE s.id_hash = $1 AND s.ended_at IS NULL AND u.disabled_at IS NULL";
constexpr std::string_view kTouchSession =
    "UPDATE admin_sessions SET last_seen_at = date_trunc('milliseconds', clock_timestamp()) "
    "WHERE id_hash = $1 AND ended_at IS NULL";
constexpr std::string_view kEndSession =
    "UPDATE admin_sessions SET ended_at = date_trunc('milliseconds', clock_timestamp()),"
    " end_reason = $2 WHERE id_hash = $1 AND ended_at IS NULL RETURNING user_id";
constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (at, actor, action, subject, to_value) "
    "VALUES (date_trunc('milliseconds', clock_timestamp()), $1, $2, $3, $4)";

std::string_view end_reason(SessionEnd reason) {
  switch (reason) {
    case SessionEnd::kLogout: return "logout";
    case SessionEnd::kDisabled: return "disabled";
    case SessionEnd::kPassword: return "password";
  }
  return "logout";
}

}  // namespace

tl::expected<void, Error> PgAdminStore::create_user(const NewUser& user, std::string_view actor) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  db.exec("lock principal names", kLockPrincipalNames);
  if (db.exec("token named", kTokenNamed, {user.name}).rows() > 0) {
    return tl::unexpected(admin_rules::name_is_a_token());
  }
  if (db.exec("insert user", kInsertUser, {user.name, user.role, user.password_hash}).rows() == 0) {
    return tl::unexpected(admin_rules::user_name_taken());
  }
  db.exec("insert audit", kInsertAudit, {actor, "user.create", user.name, user.role});
  tx.commit();
  return {};
}

std::vector<AdminUserInfo> PgAdminStore::list_users() {
  auto lease = pool_.acquire();
  const Result rows = lease->exec("list users", kListUsers);
  std::vector<AdminUserInfo> users;
  users.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    users.push_back(AdminUserInfo{rows.text(i, 0), rows.text(i, 1), rows.text(i, 2),
                                  rows.text(i, 3), rows.optional_text(i, 4),
                                  rows.optional_text(i, 5)});
  }
  return users;
}

std::optional<UserCredentials> PgAdminStore::find_credentials(std::string_view name) {
  auto lease = pool_.acquire();
  const Result row = lease->exec("find credentials", kSelectCredentials, {name});
  if (row.rows() == 0) return std::nullopt;
  return UserCredentials{row.text(0, 0), row.text(0, 1), row.text(0, 2), row.view(0, 3) == "t"};
}

bool PgAdminStore::disable_user(std::string_view name, std::string_view actor) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  const Result user = db.exec("disable user", kDisableUser, {name});
  if (user.rows() == 0) return false;
  db.exec("end user sessions", kEndUserSessions,
          {user.view(0, 0), end_reason(SessionEnd::kDisabled)});
  db.exec("insert audit", kInsertAudit, {actor, "user.disable", name, std::nullopt});
  tx.commit();
  return true;
}

bool PgAdminStore::set_password(std::string_view name, std::string_view password_hash,
                                std::string_view actor) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  const Result user = db.exec("set password", kSetPassword, {name, password_hash});
  if (user.rows() == 0) return false;
  db.exec("end user sessions", kEndUserSessions,
          {user.view(0, 0), end_reason(SessionEnd::kPassword)});
  db.exec("insert audit", kInsertAudit, {actor, "user.password", name, std::nullopt});
  tx.commit();
  return true;
}

bool PgAdminStore::create_session(std::string_view id_hash, std::string_view user,
                                  std::string_view password_hash) {
  auto lease = pool_.acquire();
  return lease->exec("insert session", kInsertSession, {id_hash, user, password_hash}).rows() == 1;
}

std::optional<SessionRecord> PgAdminStore::find_session(std::string_view id_hash,
                                                        std::chrono::milliseconds idle_timeout) {
  auto lease = pool_.acquire();
  const Result row = lease->exec("find session", kSelectSession, {id_hash});
  if (row.rows() == 0) return std::nullopt;
  SessionRecord session{row.text(0, 0), row.text(0, 1), std::chrono::milliseconds(row.int64(0, 2))};
  if (session.idle >= idle_timeout) return std::nullopt;
  return session;
}

void PgAdminStore::touch_session(std::string_view id_hash) {
  auto lease = pool_.acquire();
  lease->exec("touch session", kTouchSession, {id_hash});
}

bool PgAdminStore::end_session(std::string_view id_hash, SessionEnd reason) {
  auto lease = pool_.acquire();
  return lease->exec("end session", kEndSession, {id_hash, end_reason(reason)}).rows() > 0;
}

}  // namespace teamreg::storage::postgres
