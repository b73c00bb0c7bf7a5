#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>

namespace teamreg {

/// Group flushing: many threads need "everything I did before this call is durable", and one
/// flush (an fsync of a directory, say) started after a caller's call serves that caller. While a
/// flush runs, callers that arrive wait and share the next one, so N concurrent callers cost about
/// two flushes instead of N, and a caller alone pays exactly one. A flush that throws fails every
/// caller it was meant to cover; the next caller starts a fresh one.
class CoalescedSync final {
 public:
  explicit CoalescedSync(std::function<void()> flush) : flush_(std::move(flush)) {}
  CoalescedSync(const CoalescedSync&) = delete;
  CoalescedSync& operator=(const CoalescedSync&) = delete;

  /// Returns once a flush that started after this call has succeeded; rethrows its failure.
  void sync();
  /// Flushes run so far, for tests and metrics.
  std::uint64_t flushes() const;

 private:
  std::function<void()> flush_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::uint64_t requested_ = 0;  ///< tickets handed out
  std::uint64_t finished_ = 0;   ///< every ticket up to this one has its outcome
  struct Failure {
    std::uint64_t first;       ///< first ticket the failed flush covered
    std::uint64_t unreported;  ///< covered callers that have not yet seen the failure
    std::exception_ptr error;
  };
  std::map<std::uint64_t, Failure> failures_;  ///< by last ticket covered; emptied as reported
  bool running_ = false;
  std::uint64_t flushes_ = 0;
};

}  // namespace teamreg
