#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace teamreg {

/// A counting semaphore whose waiters are callbacks, not blocked threads, so network code can
/// wait for a slot without holding a thread: an upload over the cap simply is not read until its
/// turn comes (TCP pushes back on the client). Slots go to waiters in arrival order.
class Admission final {
 public:
  using Ticket = std::uint64_t;
  struct Attempt {
    bool admitted = false;  ///< true: the caller holds a slot now and `granted` was dropped
    Ticket ticket = 0;      ///< when queued: what withdraw() takes
  };

  explicit Admission(std::size_t slots);
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  /// Takes a slot now, or queues `granted`, which later runs exactly once, on the thread that
  /// frees a slot, handing that slot to the caller. It must not block.
  Attempt acquire(std::function<void()> granted);
  /// Gives up waiting. True when the ticket was still queued: its callback will never run.
  /// False when its slot was already granted: the callback runs (or ran), the caller owns a slot.
  bool withdraw(Ticket ticket);
  /// Frees a slot, or hands it straight to the oldest waiter.
  void release();

  std::size_t slots() const { return slots_; }
  std::size_t in_use() const;
  std::size_t waiting() const;

 private:
  const std::size_t slots_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;
  Ticket next_ticket_ = 1;
  std::map<Ticket, std::function<void()>> waiting_;  ///< ordered by ticket: arrival order
};

}  // namespace teamreg
