#include "admin/accounts.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "admin/auth.hpp"

namespace teamreg::admin {
namespace {

constexpr std::chrono::milliseconds kMaxTouchInterval{60'000};

Error busy() {
  return Error{ErrorCode::kServiceUnavailable,
               "Too many passwords are being checked at once; please retry in a moment",
               {},
               {}};
}

Error no_active_user(std::string_view name) {
  return Error{ErrorCode::kNotFound, fmt::format("No active user is named '{}'", name), {}, {}};
}

}  // namespace

std::string_view login_failure_name(LoginFailure failure) {
  switch (failure) {
    case LoginFailure::kMalformed: return "malformed_login";
    case LoginFailure::kUnknownUser: return "unknown_user";
    case LoginFailure::kWrongPassword: return "wrong_password";
    case LoginFailure::kDisabled: return "disabled_user";
    case LoginFailure::kBusy: return "busy";
  }
  return "malformed_login";
}

bool valid_session_id(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

AccountService::AccountService(storage::AdminStore& store, PasswordHasher& hasher,
                               AccountConfig config)
    : store_(store), hasher_(hasher), config_(config) {}

std::chrono::milliseconds AccountService::touch_interval() const {
  const auto quarter =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.idle_timeout) / 4;
  return std::min(kMaxTouchInterval, quarter);
}

tl::expected<void, Error> AccountService::create_user(std::string_view name, std::string_view role,
                                                      std::string_view password,
                                                      std::string_view actor) {
  if (!valid_token_name(name)) {
    return tl::unexpected(validation_error(
        "name",
        "User names are 1-64 characters A-Z, a-z, 0-9, '.', '_' or '-' and not env, cli or "
        "system*"));
  }
  if (role != kRoleAdmin && role != kRoleViewer) {
    return tl::unexpected(validation_error("role", "role must be admin or viewer"));
  }
  if (auto problem = password_problem(password)) {
    return tl::unexpected(validation_error("password", std::move(*problem)));
  }
  auto hash = hasher_.hash(password);
  if (!hash) return tl::unexpected(busy());
  if (auto stored = store_.create_user(
          storage::NewUser{std::string(name), std::string(role), std::move(*hash)}, actor);
      !stored) {
    return tl::unexpected(stored.error());
  }
  spdlog::info("admin user created user={} role={} actor={}", name, role, actor);
  return {};
}

std::vector<storage::AdminUserInfo> AccountService::list_users() {
  return store_.list_users();
}

bool AccountService::has_active_users() {
  const auto users = store_.list_users();
  return std::any_of(users.begin(), users.end(), [](const auto& u) { return !u.disabled_at; });
}

tl::expected<void, Error> AccountService::disable_user(std::string_view name,
                                                       std::string_view actor) {
  if (!store_.disable_user(name, actor)) return tl::unexpected(no_active_user(name));
  spdlog::info("admin user disabled user={} actor={} sessions=ended", name, actor);
  return {};
}

tl::expected<void, Error> AccountService::set_password(std::string_view name,
                                                       std::string_view password,
                                                       std::string_view actor) {
  if (auto problem = password_problem(password)) {
    return tl::unexpected(validation_error("password", std::move(*problem)));
  }
  const auto current = store_.find_credentials(name);
  if (!current || current->disabled) return tl::unexpected(no_active_user(name));
  auto hash = hasher_.hash(password);
  if (!hash) return tl::unexpected(busy());
  if (!store_.set_password(name, *hash, actor)) return tl::unexpected(no_active_user(name));
  spdlog::info("admin user password changed user={} actor={} sessions=ended", name, actor);
  return {};
}

tl::expected<NewSession, LoginFailure> AccountService::login(std::string_view name,
                                                             std::string_view password) {
  // What no account can have is refused without hashing: the rules are public, so that says
  // nothing about which accounts exist.
  if (!valid_token_name(name) || password.empty() || password.size() > kMaxPasswordBytes) {
    return tl::unexpected(LoginFailure::kMalformed);
  }
  const auto credentials = store_.find_credentials(name);
  if (!credentials) {
    if (hasher_.verify_dummy(password) == PasswordHasher::Verdict::kBusy) {
      return tl::unexpected(LoginFailure::kBusy);
    }
    return tl::unexpected(LoginFailure::kUnknownUser);
  }
  // A disabled user's password is still checked, so that the timing is the same as for others.
  switch (hasher_.verify(credentials->password_hash, password)) {
    case PasswordHasher::Verdict::kBusy: return tl::unexpected(LoginFailure::kBusy);
    case PasswordHasher::Verdict::kMismatch: return tl::unexpected(LoginFailure::kWrongPassword);
    case PasswordHasher::Verdict::kMatch: break;
  }
  if (credentials->disabled) return tl::unexpected(LoginFailure::kDisabled);
  NewSession session{generate_token(), SessionUser{credentials->name, credentials->role}};
  // Refused when the user was disabled or its password changed while we were checking.
  if (!store_.create_session(token_hash(session.id), credentials->name,
                             credentials->password_hash)) {
    return tl::unexpected(LoginFailure::kDisabled);
  }
  return session;
}

std::optional<SessionUser> AccountService::session(std::string_view session_id) {
  if (!valid_session_id(session_id)) return std::nullopt;
  const std::string hash = token_hash(session_id);
  const auto record = store_.find_session(
      hash, std::chrono::duration_cast<std::chrono::milliseconds>(config_.idle_timeout));
  if (!record) return std::nullopt;
  if (record->idle >= touch_interval()) {
    try {
      store_.touch_session(hash);
    } catch (const std::exception& e) {
      // Bookkeeping only: a busy database must not turn a live session away.
      spdlog::warn("admin session last_seen_at not updated user={} error=\"{}\"", record->user,
                   e.what());
    }
  }
  return SessionUser{record->user, record->role};
}

std::optional<SessionUser> AccountService::logout(std::string_view session_id) {
  if (!valid_session_id(session_id)) return std::nullopt;
  const std::string hash = token_hash(session_id);
  const auto record = store_.find_session(
      hash, std::chrono::duration_cast<std::chrono::milliseconds>(config_.idle_timeout));
  if (!store_.end_session(hash, storage::SessionEnd::kLogout) || !record) return std::nullopt;
  return SessionUser{record->user, record->role};
}

}  // namespace teamreg::admin
