#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace teamreg::http {

/// Token bucket per key (a client address): `per_minute` requests, refilled smoothly.
/// per_minute == 0 disables the limit.
class RateLimiter final {
 public:
  explicit RateLimiter(int per_minute);
  bool allow(std::string_view key);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
  };
  int per_minute_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace teamreg::http
