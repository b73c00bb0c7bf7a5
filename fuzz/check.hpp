#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace teamreg::fuzz {

/// A broken invariant: says which, then aborts so that libFuzzer saves the input as a crash.
[[noreturn]] inline void fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::abort();
}

inline void check(bool holds, std::string_view what, std::string_view detail = {}) {
  if (!holds) fail(what, detail);
}

}  // namespace teamreg::fuzz
