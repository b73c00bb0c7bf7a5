#include "http/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace teamreg::http {
namespace {

TEST(RateLimiter, ZeroDisablesTheLimit) {
  RateLimiter limiter(0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.allow("203.0.113.7"));
}

TEST(RateLimiter, ABurstGetsExactlyTheCapacityThenIsRefused) {
  RateLimiter limiter(5);  // refills one token every 12 s: none during this test
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow("203.0.113.7")) << i;
  EXPECT_FALSE(limiter.allow("203.0.113.7"));
  EXPECT_TRUE(limiter.allow("203.0.113.8"));  // another client has its own bucket
}

TEST(RateLimiter, ConcurrentCallersOnOneKeyShareOneBucket) {
  constexpr int kPerMinute = 60;  // one token a second
  constexpr int kThreads = 8;
  constexpr int kCallsEach = 200;
  RateLimiter limiter(kPerMinute);
  std::atomic<int> allowed{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsEach; ++i) {
        if (limiter.allow("198.51.100.1")) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // The full bucket, plus at most what refilled while the threads ran (nothing, unless the
  // machine stalled them for over a second).
  EXPECT_GE(allowed.load(), kPerMinute);
  EXPECT_LE(allowed.load(), kPerMinute + static_cast<int>(elapsed_s) + 1);
}

TEST(RateLimiter, PruningUnderConcurrentFloodsKeepsDrainedBuckets) {
  constexpr int kPerMinute = 600;  // ten tokens a second: a bucket used once is full again in 0.1 s
  RateLimiter limiter(kPerMinute);
  const auto drained_at = std::chrono::steady_clock::now();
  for (int i = 0; i < kPerMinute; ++i) ASSERT_TRUE(limiter.allow("drained"));
  // 10,400 fresh addresses from 4 threads push the map past its pruning threshold (10,000) while
  // two other threads keep asking for the drained key.
  std::atomic<int> refused_fresh{0};
  std::atomic<int> allowed_drained{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2600; ++i) {
        if (!limiter.allow("flood-" + std::to_string(t) + "-" + std::to_string(i))) {
          ++refused_fresh;
        }
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        if (limiter.allow("drained")) ++allowed_drained;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < 700; ++i) {
    if (limiter.allow("drained")) ++allowed_drained;
  }
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - drained_at).count();
  EXPECT_EQ(refused_fresh.load(), 0);
  // Pruning forgets only full buckets: the drained one is kept and gets only what refilled since
  // (a forgotten one would have granted a fresh bucket of 600 at once).
  EXPECT_LE(allowed_drained.load(), static_cast<int>(elapsed_s * kPerMinute / 60.0) + 1);
}

}  // namespace
}  // namespace teamreg::http
