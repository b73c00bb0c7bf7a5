#include "admin/passwords.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <stdexcept>

namespace teamreg::admin {
namespace {

// Made once with crypto_pwhash_str(random 256-bit password, OPSLIMIT_INTERACTIVE,
// MEMLIMIT_INTERACTIVE); the password was thrown away. passwords_test.cpp checks that its
// parameters are still the ones hash() uses, so verifying against it costs what a real one does.
constexpr std::string_view kDummyHash =
    "$argon2id$v=19$m=65536,t=2,p=1$nf/"
    "TCGvjUvwSRdfdaNrJCw$yjBOuK61KJyvKANPxeTgyD5XwzNJo2ygEmdVFePgSGM";

/// Code points in valid UTF-8, or nullopt when `text` is not valid UTF-8 (overlong forms,
/// surrogates and values past U+10FFFF included).
std::optional<std::size_t> utf8_code_points(std::string_view text) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c < 0x80) {
      length = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return std::nullopt;
    }
    if (i + length > text.size()) return std::nullopt;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return std::nullopt;
    }
    i += length;
    ++count;
  }
  return count;
}

}  // namespace

std::optional<std::string> password_problem(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return fmt::format("Passwords are at most {} bytes", kMaxPasswordBytes);
  }
  const auto chars = utf8_code_points(password);
  if (!chars) return std::string("The password must be UTF-8 text");
  if (*chars < kMinPasswordChars) {
    return fmt::format("Passwords need at least {} characters", kMinPasswordChars);
  }
  return std::nullopt;
}

std::string_view dummy_password_hash() {
  return kDummyHash;
}

/// Holds one hashing slot for its lifetime, when it got one.
class PasswordHasher::Slot final {
 public:
  explicit Slot(PasswordHasher& hasher) : hasher_(hasher), held_(hasher.acquire()) {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    if (held_) hasher_.release();
  }
  bool held() const { return held_; }

 private:
  PasswordHasher& hasher_;
  bool held_;
};

PasswordHasher::PasswordHasher(PasswordHashingConfig config) : config_(config) {
  if (config_.concurrency == 0) config_.concurrency = 1;
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
}

bool PasswordHasher::acquire() {
  std::unique_lock lock(mutex_);
  if (running_ < config_.concurrency) {
    ++running_;
    return true;
  }
  if (waiting_ >= config_.max_waiting) return false;
  ++waiting_;
  const bool got =
      freed_.wait_for(lock, config_.max_wait, [this] { return running_ < config_.concurrency; });
  --waiting_;
  if (got) ++running_;
  return got;
}

void PasswordHasher::release() {
  {
    const std::lock_guard lock(mutex_);
    --running_;
  }
  freed_.notify_one();
}

std::optional<std::string> PasswordHasher::hash(std::string_view password) {
  const Slot slot(*this);
  if (!slot.held()) return std::nullopt;
  std::string out(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str(out.data(), password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("password hashing failed (out of memory?)");
  }
  out.resize(out.find('\0'));
  return out;
}

PasswordHasher::Verdict PasswordHasher::verify(std::string_view stored, std::string_view password) {
  // crypto_pwhash_str_verify reads a NUL-terminated string of at most STRBYTES.
  if (stored.size() >= crypto_pwhash_STRBYTES) return Verdict::kMismatch;
  const std::string terminated(stored);
  const Slot slot(*this);
  if (!slot.held()) return Verdict::kBusy;
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0
             ? Verdict::kMatch
             : Verdict::kMismatch;
}

PasswordHasher::Verdict PasswordHasher::verify_dummy(std::string_view password) {
  const Verdict verdict = verify(kDummyHash, password);
  return verdict == Verdict::kBusy ? Verdict::kBusy : Verdict::kMismatch;
}

}  // namespace teamreg::admin
