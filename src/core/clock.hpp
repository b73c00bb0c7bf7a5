#pragma once

#include <chrono>
#include <string>

namespace teamreg {

/// ISO 8601 UTC with millisecond precision and `Z`, e.g. 2026-11-29T10:15:00.123Z.
std::string iso8601_utc(std::chrono::system_clock::time_point when);
inline std::string now_iso8601() {
  return iso8601_utc(std::chrono::system_clock::now());
}

}  // namespace teamreg
