#pragma once

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <unordered_map>

#include "core/error.hpp"
#include "http/message.hpp"
#include "http/rate_limiter.hpp"
#include "storage/admin_store.hpp"

namespace teamreg::admin {

/// Name under which the TEAMREG_ADMIN_TOKEN token appears in the audit log; reserved.
inline constexpr std::string_view kEnvTokenName = "env";
/// Actor of changes made with the teamreg CLI; reserved as a token name.
inline constexpr std::string_view kCliActor = "cli";
/// The one answer to every failed login: it does not say whether the user exists.
inline constexpr std::string_view kLoginFailedMessage = "Wrong user name or password";
/// Shortest TEAMREG_ADMIN_TOKEN accepted (32 hex digits = 128 bits).
inline constexpr std::size_t kMinEnvTokenChars = 32;

struct AuthConfig {
  std::string env_token;         ///< TEAMREG_ADMIN_TOKEN; empty: only tokens from the database
  int failures_per_minute = 10;  ///< per client address; 0 = no limit
  std::chrono::seconds block_for{60};  ///< how long an address over the limit gets 429
};

/// A new token: 256 bits from the OS CSPRNG, hex. Shown once; only its hash is stored.
std::string generate_token();
/// Lower-case hex SHA-256, the form in which tokens are stored and compared.
std::string token_hash(std::string_view token);
/// Token names: 1-64 of A-Z a-z 0-9 . _ -, not a reserved actor name (env, cli, system*).
bool valid_token_name(std::string_view name);

/// Checks `Authorization: Bearer <token>` against the active tokens (and TEAMREG_ADMIN_TOKEN).
/// Hashes are compared in constant time. A valid token is always accepted, whoever failed before
/// from the same address. Failures are logged without the token and limited per client address:
/// past the limit, further failures from that address get 429 instead of 401 for a while.
class Authenticator final {
 public:
  /// Throws std::invalid_argument when the env token is shorter than kMinEnvTokenChars.
  Authenticator(storage::AdminStore& store, AuthConfig config);

  /// The actor (token name) of the request, or 401 UNAUTHORIZED / 429 RATE_LIMITED (a failure
  /// from an address over the failure limit).
  tl::expected<std::string, Error> authenticate(const http::Request& request);

  /// True when at least one token (database or environment) can authenticate.
  bool has_tokens();

  /// Counts a failed password login like a failed token, in the same per-address limit, and
  /// logs it (`reason`, and `user` when not empty; never the password). 401 UNAUTHORIZED with
  /// one message for every reason, or 429 RATE_LIMITED from an address over the limit.
  Error login_failed(const http::Request& request, std::string_view reason, std::string_view user);

 private:
  Error fail(const http::Request& request, std::string_view reason, std::string_view user,
             std::string_view message);
  bool blocked(const std::string& address);

  storage::AdminStore& store_;
  AuthConfig config_;
  std::string env_hash_;
  http::RateLimiter failures_;
  std::mutex blocked_mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> blocked_until_;
};

}  // namespace teamreg::admin
