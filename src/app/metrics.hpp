#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace teamreg::app {

/// A Prometheus histogram: cumulative buckets by upper bound, count and sum. Not thread-safe on
/// its own; Metrics guards it.
class Histogram final {
 public:
  Histogram(std::string name, std::string help, std::vector<double> bounds);
  void observe(double value);
  void render(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<double> bounds_;
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

/// Bytes the C allocator holds in live allocations (glibc mallinfo2: arenas plus mmapped
/// chunks), unlike RSS not inflated by freed memory an arena keeps; 0 without glibc.
std::uint64_t heap_in_use_bytes();

/// Hands the C allocator's free memory back to the kernel (glibc malloc_trim). Without it a burst
/// of large responses (a CSV export) stays in the arenas' RSS for good; no-op without glibc.
void release_free_heap();

/// Process counters exposed at GET /metrics in the Prometheus text format.
class Metrics final {
 public:
  Metrics();
  void record_request(const std::string& route, unsigned status);
  void record_registration(double ms);
  void record_replay() { ++replays_; }
  /// One pass of the sweeper; called once per pass, even when it found nothing to do.
  void record_sweep_pass() { ++sweeps_; }
  void record_sweep(std::size_t deleted, std::size_t promoted);
  /// One group-commit transaction: how many registrations, how long the database took.
  void record_batch(std::size_t size, double ms);
  /// One delivery attempt of the outbox worker.
  void record_mail_attempt(bool delivered) { ++(delivered ? mail_deliveries_ : mail_failures_); }

  /// `gauges` are read at scrape time (queue depth, sequence values), outside the counters' lock.
  std::string render(const std::function<void(std::string&)>& gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
  Histogram registration_seconds_;
  Histogram batch_size_;
  Histogram commit_seconds_;
  std::atomic<std::uint64_t> replays_{0};
  std::atomic<std::uint64_t> sweeps_{0};
  std::atomic<std::uint64_t> sweeper_deleted_{0};
  std::atomic<std::uint64_t> sweeper_promoted_{0};
  std::atomic<std::uint64_t> mail_deliveries_{0};
  std::atomic<std::uint64_t> mail_failures_{0};
};

}  // namespace teamreg::app
