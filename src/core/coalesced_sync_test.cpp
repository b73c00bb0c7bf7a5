#include "core/coalesced_sync.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace teamreg {
namespace {

/// A stand-in for the disk: writes get increasing numbers; a flush makes durable every write that
/// happened before it started.
struct FakeDisk {
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> durable{0};
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  std::atomic<std::uint64_t> flush_count{0};
  std::function<bool(std::uint64_t)> fails = [](std::uint64_t) { return false; };

  void flush() {
    if (running.fetch_add(1) != 0) overlapped = true;
    const std::uint64_t upto = writes.load();
    const std::uint64_t n = ++flush_count;
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    running.fetch_sub(1);
    if (fails(n)) throw std::runtime_error("flush failed");
    std::uint64_t seen = durable.load();
    while (seen < upto && !durable.compare_exchange_weak(seen, upto)) {
    }
  }
};

TEST(CoalescedSync, LoneCallerGetsExactlyOneFlush) {
  FakeDisk disk;
  CoalescedSync sync([&] { disk.flush(); });
  const auto mine = ++disk.writes;
  sync.sync();
  EXPECT_GE(disk.durable.load(), mine);
  EXPECT_EQ(sync.flushes(), 1U);
  sync.sync();
  EXPECT_EQ(sync.flushes(), 2U);  // a later call never reuses a flush that started before it
}

TEST(CoalescedSync, ConcurrentCallersReturnOnlyAfterTheirWritesAreFlushedAndShareFlushes) {
  FakeDisk disk;
  CoalescedSync sync([&] { disk.flush(); });
  constexpr int kThreads = 12;
  constexpr int kCalls = 150;
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        const auto mine = ++disk.writes;
        sync.sync();
        if (disk.durable.load() < mine) ++violations;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_FALSE(disk.overlapped.load()) << "two flushes ran at once";
  EXPECT_LT(sync.flushes(), static_cast<std::uint64_t>(kThreads * kCalls));
  EXPECT_EQ(sync.flushes(), disk.flush_count.load());
}

TEST(CoalescedSync, FailedFlushFailsEveryCallerItCoveredAndOnlyThose) {
  FakeDisk disk;
  disk.fails = [](std::uint64_t n) { return n % 3 == 0; };
  CoalescedSync sync([&] { disk.flush(); });
  constexpr int kThreads = 8;
  constexpr int kCalls = 120;
  std::atomic<int> failed{0};
  std::atomic<int> succeeded{0};
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        const auto mine = ++disk.writes;
        try {
          sync.sync();
          ++succeeded;
          if (disk.durable.load() < mine) ++violations;
        } catch (const std::runtime_error&) {
          ++failed;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(violations.load(), 0) << "a caller was told its writes were durable when they were not";
  EXPECT_GT(failed.load(), 0);
  EXPECT_GT(succeeded.load(), 0);
  EXPECT_EQ(failed.load() + succeeded.load(), kThreads * kCalls);

  // After failures, a fresh caller gets a fresh flush and succeeds.
  disk.fails = [](std::uint64_t) { return false; };
  const auto mine = ++disk.writes;
  EXPECT_NO_THROW(sync.sync());
  EXPECT_GE(disk.durable.load(), mine);
}

TEST(CoalescedSync, LoneCallerSeesItsOwnFlushFail) {
  FakeDisk disk;
  disk.fails = [](std::uint64_t n) { return n == 1; };
  CoalescedSync sync([&] { disk.flush(); });
  EXPECT_THROW(sync.sync(), std::runtime_error);
  EXPECT_NO_THROW(sync.sync());
}

}  // namespace
}  // namespace teamreg
