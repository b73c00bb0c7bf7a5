#include "core/clock.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace teamreg {

std::string iso8601_utc(std::chrono::system_clock::time_point when) {
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(when);
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(ms);
  const auto frac = (ms - secs).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", secs, frac);
}

}  // namespace teamreg
