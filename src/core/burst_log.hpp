#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace teamreg {

/// For failures that come in storms (disk full, no file descriptors): the first event of a burst
/// is logged, then at most one line per interval saying how many were held back, so a thousand
/// failing requests give a handful of log lines, each with its errno.
class BurstLog final {
 public:
  explicit BurstLog(std::chrono::steady_clock::duration interval = std::chrono::seconds(10))
      : interval_(interval) {}

  /// When a line should be written now: how many events were suppressed since the last line.
  std::optional<std::uint64_t> admit() {
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mutex_);
    if (logged_once_ && now - last_ < interval_) {
      ++suppressed_;
      return std::nullopt;
    }
    logged_once_ = true;
    last_ = now;
    const std::uint64_t held_back = suppressed_;
    suppressed_ = 0;
    return held_back;
  }

 private:
  std::chrono::steady_clock::duration interval_;
  std::mutex mutex_;
  bool logged_once_ = false;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
};

}  // namespace teamreg
