#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace teamreg::admin {

/// Shortest password, in characters (UTF-8 code points).
inline constexpr std::size_t kMinPasswordChars = 12;
/// Longest password, in bytes: bounds the work a login body can ask for.
inline constexpr std::size_t kMaxPasswordBytes = 1024;

/// Why a password cannot be set (too short, too long, not UTF-8), or nullopt when it can.
std::optional<std::string> password_problem(std::string_view password);

struct PasswordHashingConfig {
  std::size_t concurrency = 2;  ///< hashes running at once (each takes 64 MiB)
  std::size_t max_waiting = 4;  ///< callers waiting for a slot; more are refused at once
  std::chrono::milliseconds max_wait{10'000};  ///< a waiting caller gives up after this
};

/// Argon2id through libsodium (crypto_pwhash_str, OPSLIMIT/MEMLIMIT_INTERACTIVE: 64 MiB and
/// about 0.1 s of one core per call). At most `concurrency` hashes run at once in the process,
/// so a burst of logins cannot take gigabytes; callers beyond the bounded queue are refused.
/// Thread-safe.
class PasswordHasher final {
 public:
  enum class Verdict { kMatch, kMismatch, kBusy };

  /// Initialises libsodium (sodium_init is idempotent); throws when it cannot.
  explicit PasswordHasher(PasswordHashingConfig config = {});

  /// The Argon2id string (`$argon2id$v=19$m=65536,t=2,p=1$…`) of `password`; nullopt when no
  /// slot became free in time. Throws when libsodium fails (out of memory).
  std::optional<std::string> hash(std::string_view password);
  /// Checks `password` against a stored Argon2id string. A malformed string is a mismatch.
  Verdict verify(std::string_view stored, std::string_view password);
  /// The same work as verify() against a fixed hash that no password matches: run for a user
  /// name that does not exist, so that the answer's timing does not tell.
  Verdict verify_dummy(std::string_view password);

 private:
  class Slot;
  bool acquire();
  void release();

  PasswordHashingConfig config_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::size_t running_ = 0;
  std::size_t waiting_ = 0;
};

/// The fixed hash verify_dummy() checks against (the parameters of a real one); for tests.
std::string_view dummy_password_hash();

}  // namespace teamreg::admin
