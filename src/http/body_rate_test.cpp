#include "http/body_rate.hpp"

#include <gtest/gtest.h>

namespace teamreg::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr BodyRate kDefault{4096, seconds(10)};

TEST(BodyRate, NothingIsTooSlowWithinTheGrace) {
  EXPECT_FALSE(kDefault.too_slow(seconds(0), 0));
  EXPECT_FALSE(kDefault.too_slow(seconds(10), 0));
  EXPECT_TRUE(kDefault.too_slow(milliseconds(10'001), 0));
}

TEST(BodyRate, EachChunkOfMinRateBytesBuysOneMoreSecond) {
  EXPECT_FALSE(kDefault.too_slow(seconds(12), 2 * 4096));
  EXPECT_TRUE(kDefault.too_slow(milliseconds(12'001), 2 * 4096));
}

TEST(BodyRate, OneKilobytePerSecondIsCutAfterAboutThirteenSeconds) {
  // 1 KiB/s: received = 1024 * t, allowed = 10 + t / 4 → cut once t > 13.3 s.
  EXPECT_FALSE(kDefault.too_slow(seconds(13), 13 * 1024));
  EXPECT_TRUE(kDefault.too_slow(seconds(14), 14 * 1024));
}

TEST(BodyRate, AFastBodyIsNeverTooSlow) {
  EXPECT_FALSE(kDefault.too_slow(seconds(600), 100ULL << 20));
}

TEST(BodyRate, ZeroTurnsTheRuleOff) {
  constexpr BodyRate off{0, seconds(10)};
  EXPECT_FALSE(off.too_slow(seconds(3600), 0));
}

}  // namespace
}  // namespace teamreg::http
