#include "core/admission.hpp"

#include <utility>

namespace teamreg {

Admission::Admission(std::size_t slots) : slots_(slots) {}

Admission::Attempt Admission::acquire(std::function<void()> granted) {
  const std::lock_guard lock(mutex_);
  // Nobody overtakes a waiter: a free slot with a queue means a grant is on its way to it.
  if (in_use_ < slots_ && waiting_.empty()) {
    ++in_use_;
    return Attempt{true, 0};
  }
  const Ticket ticket = next_ticket_++;
  waiting_.emplace(ticket, std::move(granted));
  return Attempt{false, ticket};
}

bool Admission::withdraw(Ticket ticket) {
  std::function<void()> dropped;  // destroyed after the lock: it may own what calls release()
  const std::lock_guard lock(mutex_);
  const auto it = waiting_.find(ticket);
  if (it == waiting_.end()) return false;
  dropped = std::move(it->second);
  waiting_.erase(it);
  return true;
}

void Admission::release() {
  std::function<void()> next;
  {
    const std::lock_guard lock(mutex_);
    if (waiting_.empty()) {
      if (in_use_ > 0) --in_use_;
      return;
    }
    // The slot passes to the oldest waiter without ever being free.
    next = std::move(waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
  }
  next();
}

std::size_t Admission::in_use() const {
  const std::lock_guard lock(mutex_);
  return in_use_;
}

std::size_t Admission::waiting() const {
  const std::lock_guard lock(mutex_);
  return waiting_.size();
}

}  // namespace teamreg
