#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace teamreg::app {

/// Process counters exposed at GET /metrics in the Prometheus text format.
class Metrics final {
 public:
  void record_request(const std::string& route, unsigned status);
  void record_registration(double ms);
  void record_replay() { ++replays_; }
  void record_sweep(std::size_t deleted, std::size_t promoted);
  void record_batch(std::size_t size);

  /// `gauges` are read at scrape time (queue depth, sequence values).
  std::string render(const std::function<void(std::string&)>& gauges) const;

 private:
  static constexpr std::array<double, 12> kLatencyBucketsMs{1,   2.5, 5,   10,   25,   50,
                                                            100, 250, 500, 1000, 2500, 10000};
  static constexpr std::array<std::size_t, 8> kBatchBuckets{1, 2, 4, 8, 16, 32, 64, 128};
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
  std::array<std::uint64_t, kLatencyBucketsMs.size()> latency_buckets_{};
  std::uint64_t latency_count_ = 0;
  double latency_sum_ms_ = 0;
  std::array<std::uint64_t, kBatchBuckets.size()> batch_buckets_{};
  std::uint64_t batch_count_ = 0;
  std::uint64_t batch_sum_ = 0;
  std::atomic<std::uint64_t> replays_{0};
  std::atomic<std::uint64_t> sweeper_deleted_{0};
  std::atomic<std::uint64_t> sweeper_promoted_{0};
};

}  // namespace teamreg::app
