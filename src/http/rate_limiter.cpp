#include "http/rate_limiter.hpp"

#include <algorithm>

namespace teamreg::http {
namespace {
constexpr std::size_t kPruneAbove = 10000;
}

RateLimiter::RateLimiter(int per_minute) : per_minute_(per_minute) {}

bool RateLimiter::allow(std::string_view key) {
  if (per_minute_ <= 0) return true;
  const auto now = std::chrono::steady_clock::now();
  const double capacity = per_minute_;
  const double per_second = capacity / 60.0;
  const std::lock_guard lock(mutex_);
  if (buckets_.size() > kPruneAbove) {
    // Full buckets carry no information: forgetting them bounds memory under address floods.
    std::erase_if(buckets_, [&](const auto& entry) {
      const double elapsed = std::chrono::duration<double>(now - entry.second.updated).count();
      return entry.second.tokens + elapsed * per_second >= capacity;
    });
  }
  auto [it, inserted] = buckets_.try_emplace(std::string(key), Bucket{capacity, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(capacity, bucket.tokens + elapsed * per_second);
    bucket.updated = now;
  }
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

}  // namespace teamreg::http
