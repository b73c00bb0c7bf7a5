#pragma once

#include <chrono>
#include <cstdint>

namespace teamreg::http {

/// The minimum-rate rule for request bodies (like Apache's mod_reqtimeout MinRate): a body may
/// take `grace` plus one second per `min_bytes_per_s` bytes received so far. A client trickling
/// slower than that is cut off even though it is never idle long enough for the idle timeout.
/// min_bytes_per_s == 0 turns the rule off.
struct BodyRate {
  std::uint64_t min_bytes_per_s = 0;
  std::chrono::seconds grace{0};

  /// True when `received_bytes` after `elapsed` is below the rule.
  bool too_slow(std::chrono::steady_clock::duration elapsed, std::uint64_t received_bytes) const {
    if (min_bytes_per_s == 0) return false;
    const auto allowed = std::chrono::duration<double>(grace) +
                         std::chrono::duration<double>(static_cast<double>(received_bytes) /
                                                       static_cast<double>(min_bytes_per_s));
    return std::chrono::duration<double>(elapsed) > allowed;
  }
};

}  // namespace teamreg::http
