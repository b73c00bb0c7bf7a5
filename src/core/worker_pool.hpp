#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace teamreg {

/// A fixed set of threads for blocking work (fsync, database reads) so that network threads never
/// block. Bounded: try_post refuses work beyond max_queued, and the caller answers 503.
class WorkerPool final {
 public:
  WorkerPool(std::size_t threads, std::size_t max_queued);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();

  bool try_post(std::function<void()> task);
  /// Runs what is queued, then joins the threads.
  void stop();

 private:
  void run();

  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace teamreg
