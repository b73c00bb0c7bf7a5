#include "core/admission.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace teamreg {
namespace {

TEST(Admission, AdmitsUpToItsSlotsThenQueues) {
  Admission admission(2);
  int granted = 0;
  EXPECT_TRUE(admission.acquire([&] { ++granted; }).admitted);
  EXPECT_TRUE(admission.acquire([&] { ++granted; }).admitted);
  const auto third = admission.acquire([&] { ++granted; });
  EXPECT_FALSE(third.admitted);
  EXPECT_EQ(granted, 0);  // an immediate admission never calls back
  EXPECT_EQ(admission.waiting(), 1U);
  admission.release();  // the slot passes to the waiter
  EXPECT_EQ(granted, 1);
  EXPECT_EQ(admission.in_use(), 2U);
  EXPECT_EQ(admission.waiting(), 0U);
  admission.release();
  admission.release();
  EXPECT_EQ(admission.in_use(), 0U);
}

TEST(Admission, GrantsInArrivalOrder) {
  Admission admission(1);
  std::vector<int> order;
  ASSERT_TRUE(admission.acquire([] {}).admitted);
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(admission.acquire([&, i] { order.push_back(i); }).admitted);
  for (int i = 0; i < 5; ++i) admission.release();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Admission, NoOneOvertakesAWaiter) {
  Admission admission(1);
  ASSERT_TRUE(admission.acquire([] {}).admitted);
  bool first_granted = false;
  ASSERT_FALSE(admission.acquire([&] { first_granted = true; }).admitted);
  admission.release();
  EXPECT_TRUE(first_granted);
  // The slot went to the waiter, so a newcomer waits.
  EXPECT_FALSE(admission.acquire([] {}).admitted);
}

TEST(Admission, WithdrawnWaiterIsNeverCalled) {
  Admission admission(1);
  ASSERT_TRUE(admission.acquire([] {}).admitted);
  bool called = false;
  const auto waiting = admission.acquire([&] { called = true; });
  ASSERT_FALSE(waiting.admitted);
  EXPECT_TRUE(admission.withdraw(waiting.ticket));
  EXPECT_FALSE(admission.withdraw(waiting.ticket));
  admission.release();
  EXPECT_FALSE(called);
  EXPECT_EQ(admission.in_use(), 0U);
}

TEST(Admission, WithdrawAfterGrantReportsTheSlotAsOwned) {
  Admission admission(1);
  ASSERT_TRUE(admission.acquire([] {}).admitted);
  int called = 0;
  const auto waiting = admission.acquire([&] { ++called; });
  admission.release();
  EXPECT_EQ(called, 1);
  EXPECT_FALSE(admission.withdraw(waiting.ticket));
  EXPECT_EQ(admission.in_use(), 1U);
}

TEST(Admission, CallbackMayOwnWhatReleasesTheSlot) {
  // The registration service's callbacks hold the upload whose destructor releases its slot:
  // dropping a withdrawn callback must not deadlock on the admission's own lock.
  Admission admission(1);
  ASSERT_TRUE(admission.acquire([] {}).admitted);
  struct Releaser {
    explicit Releaser(Admission& a) : admission(a) {}
    Releaser(const Releaser&) = delete;
    Releaser& operator=(const Releaser&) = delete;
    ~Releaser() { admission.release(); }
    Admission& admission;
  };
  auto owner = std::make_shared<Releaser>(admission);
  const auto waiting = admission.acquire([owner] {});
  owner.reset();
  EXPECT_TRUE(admission.withdraw(waiting.ticket));  // drops the last reference → release()
  EXPECT_EQ(admission.in_use(), 0U);
}

TEST(Admission, NeverMoreHoldersThanSlotsUnderThreads) {
  constexpr std::size_t kSlots = 3;
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  Admission admission(kSlots);
  std::atomic<int> holders{0};
  std::atomic<int> peak{0};
  std::atomic<int> completed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        std::atomic<bool> granted{false};
        if (!admission.acquire([&granted] { granted = true; }).admitted) {
          while (!granted.load()) std::this_thread::yield();
        }
        const int now = ++holders;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        --holders;
        ++completed;
        admission.release();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(completed.load(), kThreads * kRounds);  // every waiter was granted exactly once
  EXPECT_LE(peak.load(), static_cast<int>(kSlots));
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(admission.in_use(), 0U);
  EXPECT_EQ(admission.waiting(), 0U);
}

}  // namespace
}  // namespace teamreg
