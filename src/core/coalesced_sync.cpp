#include "core/coalesced_sync.hpp"

namespace teamreg {

void CoalescedSync::sync() {
  std::unique_lock lock(mutex_);
  const std::uint64_t ticket = ++requested_;
  while (finished_ < ticket) {
    if (running_) {
      done_.wait(lock);
      continue;
    }
    // Every ticket handed out so far was taken before this flush starts, so it covers them all.
    running_ = true;
    const std::uint64_t first = finished_ + 1;
    const std::uint64_t covers = requested_;
    lock.unlock();
    std::exception_ptr error;
    try {
      flush_();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    running_ = false;
    ++flushes_;
    finished_ = covers;
    if (error) failures_.emplace(covers, Failure{first, covers - first + 1, error});
    done_.notify_all();
  }
  // The flush that covered this ticket is the first one whose range ends at or after it.
  const auto failed = failures_.lower_bound(ticket);
  if (failed == failures_.end() || failed->second.first > ticket) return;
  const std::exception_ptr error = failed->second.error;
  if (--failed->second.unreported == 0) failures_.erase(failed);
  std::rethrow_exception(error);
}

std::uint64_t CoalescedSync::flushes() const {
  const std::lock_guard lock(mutex_);
  return flushes_;
}

}  // namespace teamreg
