#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "admin/passwords.hpp"
#include "core/error.hpp"
#include "storage/admin_store.hpp"

namespace teamreg::admin {

/// May read everything and change everything (confirm, reject, sequence, outbox).
inline constexpr std::string_view kRoleAdmin = "admin";
/// May read everything and change nothing.
inline constexpr std::string_view kRoleViewer = "viewer";

struct AccountConfig {
  /// A session ends after this long without a request.
  std::chrono::seconds idle_timeout{28800};
};

/// Who is behind a live session.
struct SessionUser {
  std::string name;
  std::string role;
  bool may_change() const { return role == kRoleAdmin; }
};

/// A session just started: its id (the cookie value, never stored) and its user.
struct NewSession {
  std::string id;
  SessionUser user;
};

/// Why a login failed. The client is told the same for each (but kBusy, which is 503); the
/// log says which.
enum class LoginFailure { kMalformed, kUnknownUser, kWrongPassword, kDisabled, kBusy };
std::string_view login_failure_name(LoginFailure failure);

/// User accounts and cookie sessions of the organizers' console, shared by the CLI
/// (`teamreg admin user …`, actor "cli") and the HTTP routes. Plain synchronous code; password
/// hashing runs through the bounded PasswordHasher.
class AccountService final {
 public:
  AccountService(storage::AdminStore& store, PasswordHasher& hasher, AccountConfig config);

  /// Name rules as for tokens, and never a token's name; role admin or viewer; password rules
  /// of password_problem(). kValidationFailed (field name, role or password) otherwise.
  tl::expected<void, Error> create_user(std::string_view name, std::string_view role,
                                        std::string_view password, std::string_view actor);
  std::vector<storage::AdminUserInfo> list_users();
  /// True when at least one user may log in.
  bool has_active_users();
  /// Disables the user and ends its sessions at once; kNotFound when no active user has that name.
  tl::expected<void, Error> disable_user(std::string_view name, std::string_view actor);
  /// Replaces the password and ends the user's sessions; kNotFound when no active user has
  /// that name, kValidationFailed (field password) for a password the rules refuse.
  tl::expected<void, Error> set_password(std::string_view name, std::string_view password,
                                         std::string_view actor);

  /// Checks the password (against a dummy hash when there is no such user, so that timing does
  /// not tell) and starts a session.
  tl::expected<NewSession, LoginFailure> login(std::string_view name, std::string_view password);
  /// The user of a live session, which this use extends (last_seen_at is written at most once
  /// per touch interval); nullopt for an unknown, ended or idle session.
  std::optional<SessionUser> session(std::string_view session_id);
  /// Ends a live session; the user it belonged to, or nullopt when there was none.
  std::optional<SessionUser> logout(std::string_view session_id);

  std::chrono::seconds idle_timeout() const { return config_.idle_timeout; }
  /// last_seen_at is written when it is at least this old: a minute, or a quarter of a short
  /// idle timeout, so that a session in use never runs out.
  std::chrono::milliseconds touch_interval() const;

 private:
  storage::AdminStore& store_;
  PasswordHasher& hasher_;
  AccountConfig config_;
};

/// True for a value that can be a session id: 64 lower-case hex digits (256 bits).
bool valid_session_id(std::string_view id);

}  // namespace teamreg::admin
