#include "admin/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "core/clock.hpp"
#include "core/uuid.hpp"

namespace teamreg::admin {
namespace {

constexpr std::size_t kMaxTokenChars = 256;
constexpr std::string_view kTokenRequiredMessage = "A valid admin token is required";
constexpr std::size_t kPruneBlockedAbove = 10000;
/// last_used_at is refreshed at most this often, so that reads do not become writes.
constexpr std::chrono::seconds kTouchInterval{60};

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// The token of `Authorization: Bearer <token>`, or empty when the header is absent or malformed.
std::string_view bearer_token(const http::Request& request) {
  const auto header = request.header("authorization");
  if (!header) return {};
  std::string_view value = *header;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = value[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return {};
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty() || value.size() > kMaxTokenChars) return {};
  if (!std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7F; })) {
    return {};
  }
  return value;
}

}  // namespace

std::string generate_token() {
  return random_hex(32);
}

std::string token_hash(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xF]);
  }
  return hex;
}

bool valid_token_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (name == kEnvTokenName || name == kCliActor || name.starts_with("system")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Authenticator::Authenticator(storage::AdminStore& store, AuthConfig config)
    : store_(store), config_(std::move(config)), failures_(config_.failures_per_minute) {
  if (!config_.env_token.empty()) {
    if (config_.env_token.size() < kMinEnvTokenChars || config_.env_token.size() > kMaxTokenChars) {
      throw std::invalid_argument(
          "TEAMREG_ADMIN_TOKEN must be 32 to 256 characters (e.g. `openssl rand -hex 32`)");
    }
    env_hash_ = token_hash(config_.env_token);
    config_.env_token.clear();  // only the hash is kept
  }
}

bool Authenticator::has_tokens() {
  return !env_hash_.empty() || !store_.active_tokens().empty();
}

bool Authenticator::blocked(const std::string& address) {
  const auto now = std::chrono::steady_clock::now();
  const std::lock_guard lock(blocked_mutex_);
  const auto it = blocked_until_.find(address);
  if (it == blocked_until_.end()) return false;
  if (it->second > now) return true;
  blocked_until_.erase(it);
  return false;
}

Error Authenticator::login_failed(const http::Request& request, std::string_view reason,
                                  std::string_view user) {
  return fail(request, reason, user, kLoginFailedMessage);
}

Error Authenticator::fail(const http::Request& request, std::string_view reason,
                          std::string_view user, std::string_view message) {
  const std::string address = request.client_address.empty() ? "unknown" : request.client_address;
  const Error limited{ErrorCode::kRateLimited,
                      "Too many failed authentication attempts; please retry later",
                      {},
                      {}};
  if (blocked(address)) {
    // Already reported when the block began; the access log still has one line per request.
    spdlog::debug("admin authentication failed request_id={} client={} reason={}{}{} blocked=true",
                  request.request_id, address, reason, user.empty() ? "" : " user=", user);
    return limited;
  }
  spdlog::warn("admin authentication failed request_id={} client={} reason={}{}{}",
               request.request_id, address, reason, user.empty() ? "" : " user=", user);
  if (!failures_.allow(address)) {
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(blocked_mutex_);
    if (blocked_until_.size() > kPruneBlockedAbove) {
      std::erase_if(blocked_until_, [&](const auto& entry) { return entry.second <= now; });
    }
    blocked_until_[address] = now + config_.block_for;
    spdlog::warn("admin authentication blocked client={} seconds={}", address,
                 config_.block_for.count());
    return limited;
  }
  return Error{ErrorCode::kUnauthorized, std::string(message), {}, {}};
}

// The token is checked even when the address is blocked, so a valid token is never locked out by
// failures from its address (a shared NAT or proxy, or someone guessing from the same network).
// Is that a guessing oracle? Only in the sense that a right guess still succeeds (200, where a
// wrong one gets 429), so the block no longer slows a guesser down. We accept that: tokens made by
// `teamreg admin token create` are 256 random bits, which no request rate gets through; the
// entropy is the protection, and a per-address limit never was (a guesser with many addresses
// walks around it). TEAMREG_ADMIN_TOKEN is chosen by the operator, so it must be random too (the
// docs say `openssl rand -hex 32`). What the limit still does: 429 + Retry-After tells a
// misconfigured script to back off, the failure log stays a trickle, and a guessing address
// stands out. Every request, blocked or not, goes through the same hash-and-compare-all path.
tl::expected<std::string, Error> Authenticator::authenticate(const http::Request& request) {
  const std::string_view token = bearer_token(request);
  if (token.empty()) {
    return tl::unexpected(fail(request, request.header("authorization") ? "malformed" : "missing",
                               {}, kTokenRequiredMessage));
  }
  const std::string presented = token_hash(token);
  // Every candidate is compared, matched or not, so timing says nothing about which one matched.
  const storage::ActiveToken* match = nullptr;
  const auto tokens = store_.active_tokens();
  for (const auto& candidate : tokens) {
    if (equal_constant_time(presented, candidate.token_hash) && match == nullptr) {
      match = &candidate;
    }
  }
  const bool env_match = !env_hash_.empty() && equal_constant_time(presented, env_hash_);
  if (match != nullptr) {
    const std::string stale = iso8601_utc(std::chrono::system_clock::now() - kTouchInterval);
    if (!match->last_used_at || *match->last_used_at < stale) {
      try {
        store_.touch_token(match->name);
      } catch (const std::exception& e) {
        // Bookkeeping only: a busy database must not turn a valid token away.
        spdlog::warn("admin token last_used_at not updated token={} error=\"{}\"", match->name,
                     e.what());
      }
    }
    return match->name;
  }
  if (env_match) return std::string(kEnvTokenName);
  return tl::unexpected(fail(request, "unknown_or_revoked_token", {}, kTokenRequiredMessage));
}

}  // namespace teamreg::admin
