#include "core/uuid.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <thread>

namespace teamreg {
namespace {

const std::regex kV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
const std::regex kV7("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

std::uint64_t unix_ms_of(const std::string& v7) {
  const std::string hex = v7.substr(0, 8) + v7.substr(9, 4);
  return std::stoull(hex, nullptr, 16);
}

TEST(Uuid, RandomIsVersion4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto id = random_uuid();
    EXPECT_TRUE(std::regex_match(id, kV4)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(Uuid, TimeOrderedIsVersion7CarriesTheTimeAndSortsByIt) {
  const auto before =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  const auto first = time_ordered_uuid();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const auto second = time_ordered_uuid();
  EXPECT_TRUE(std::regex_match(first, kV7)) << first;
  EXPECT_TRUE(std::regex_match(second, kV7)) << second;
  EXPECT_GE(unix_ms_of(first), before);
  EXPECT_LE(unix_ms_of(first) - before, 1000U);
  EXPECT_LT(first, second);  // a later millisecond sorts later, as text too
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(time_ordered_uuid()).second);
}

}  // namespace
}  // namespace teamreg
