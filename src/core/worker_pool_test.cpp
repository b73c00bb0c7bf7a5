#include "core/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace teamreg {
namespace {

/// Holds every task that waits on it until open() is called.
class Gate final {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    opened_cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    {
      const std::lock_guard lock(mutex_);
      open_ = true;
    }
    opened_cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_cv_;
  bool open_ = false;
};

TEST(WorkerPool, TasksPostedFromManyThreadsRunExactlyOnceEach) {
  constexpr int kProducers = 8;
  constexpr int kTasksEach = 500;
  std::vector<std::atomic<int>> runs(kProducers * kTasksEach);
  // Plain data written by a task and read after stop(): stop() must order it before the read.
  std::vector<int> written_by_task(kProducers * kTasksEach, 0);
  std::atomic<int> refused{0};
  {
    WorkerPool pool(4, kProducers * kTasksEach);
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kTasksEach; ++i) {
          const int slot = p * kTasksEach + i;
          if (!pool.try_post([&, slot] {
                ++runs[static_cast<std::size_t>(slot)];
                written_by_task[static_cast<std::size_t>(slot)] = slot + 1;
              })) {
            ++refused;
          }
        }
      });
    }
    for (auto& producer : producers) producer.join();
    pool.stop();
  }
  EXPECT_EQ(refused.load(), 0);
  for (std::size_t slot = 0; slot < runs.size(); ++slot) {
    ASSERT_EQ(runs[slot].load(), 1) << "slot " << slot;
    ASSERT_EQ(written_by_task[slot], static_cast<int>(slot) + 1) << "slot " << slot;
  }
}

TEST(WorkerPool, RefusesBeyondItsQueueWhileEveryThreadIsBusy) {
  Gate gate;
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  WorkerPool pool(2, 3);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pool.try_post([&] {
      ++started;
      gate.wait();
      ++finished;
    }));
  }
  while (started.load() < 2) std::this_thread::yield();
  // Both threads are held: three more fit in the queue, the fourth is refused.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(pool.try_post([&] { ++finished; }));
  EXPECT_FALSE(pool.try_post([&] { ++finished; }));
  gate.open();
  pool.stop();
  EXPECT_EQ(finished.load(), 5);
}

TEST(WorkerPool, StopRunsWhatIsQueuedThenRefusesNewWork) {
  Gate gate;
  std::atomic<int> ran{0};
  WorkerPool pool(1, 100);
  ASSERT_TRUE(pool.try_post([&] { gate.wait(); }));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.try_post([&] { ++ran; }));
  std::thread stopper([&] { pool.stop(); });
  gate.open();
  stopper.join();
  EXPECT_EQ(ran.load(), 50);
  EXPECT_FALSE(pool.try_post([&] { ++ran; }));
  pool.stop();  // a second stop (the destructor's) is harmless
  EXPECT_EQ(ran.load(), 50);
}

TEST(WorkerPool, ATaskThatThrowsDoesNotKillItsThread) {
  std::atomic<int> ran{0};
  WorkerPool pool(1, 10);
  ASSERT_TRUE(pool.try_post([] { throw std::runtime_error("bug"); }));
  ASSERT_TRUE(pool.try_post([&] { ++ran; }));
  pool.stop();
  EXPECT_EQ(ran.load(), 1);
}

TEST(WorkerPool, PostingWhileStoppingEitherRunsOrIsRefused) {
  // try_post racing stop(): a task is accepted and runs, or refused; never accepted and dropped.
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> accepted{0};
    std::atomic<int> ran{0};
    {
      WorkerPool pool(2, 1000);
      std::vector<std::thread> producers;
      for (int p = 0; p < 4; ++p) {
        producers.emplace_back([&] {
          for (int i = 0; i < 100; ++i) {
            if (pool.try_post([&] { ++ran; })) ++accepted;
          }
        });
      }
      pool.stop();
      for (auto& producer : producers) producer.join();
    }
    ASSERT_EQ(ran.load(), accepted.load()) << "round " << round;
  }
}

}  // namespace
}  // namespace teamreg
