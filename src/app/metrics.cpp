#include "app/metrics.hpp"

#include <fmt/format.h>

namespace teamreg::app {

void Metrics::record_request(const std::string& route, unsigned status) {
  const std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::record_registration(double ms) {
  const std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) {
    if (ms <= kLatencyBucketsMs[i]) ++latency_buckets_[i];
  }
  ++latency_count_;
  latency_sum_ms_ += ms;
}

void Metrics::record_batch(std::size_t size) {
  const std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < kBatchBuckets.size(); ++i) {
    if (size <= kBatchBuckets[i]) ++batch_buckets_[i];
  }
  ++batch_count_;
  batch_sum_ += size;
}

void Metrics::record_sweep(std::size_t deleted, std::size_t promoted) {
  sweeper_deleted_ += deleted;
  sweeper_promoted_ += promoted;
}

std::string Metrics::render(const std::function<void(std::string&)>& gauges) const {
  std::string out;
  const std::lock_guard lock(mutex_);
  out +=
      "# HELP teamreg_http_requests_total HTTP requests answered, by route pattern and status.\n"
      "# TYPE teamreg_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out += fmt::format("teamreg_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, count);
  }
  out +=
      "# HELP teamreg_registration_duration_seconds Time from request start to 201.\n"
      "# TYPE teamreg_registration_duration_seconds histogram\n";
  for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) {
    out += fmt::format("teamreg_registration_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                       kLatencyBucketsMs[i] / 1000.0, latency_buckets_[i]);
  }
  out += fmt::format(
      "teamreg_registration_duration_seconds_bucket{{le=\"+Inf\"}} {0}\n"
      "teamreg_registration_duration_seconds_count {0}\n"
      "teamreg_registration_duration_seconds_sum {1}\n",
      latency_count_, latency_sum_ms_ / 1000.0);
  out +=
      "# HELP teamreg_commit_batch_size Registrations per group-commit transaction.\n"
      "# TYPE teamreg_commit_batch_size histogram\n";
  for (std::size_t i = 0; i < kBatchBuckets.size(); ++i) {
    out += fmt::format("teamreg_commit_batch_size_bucket{{le=\"{}\"}} {}\n", kBatchBuckets[i],
                       batch_buckets_[i]);
  }
  out += fmt::format(
      "teamreg_commit_batch_size_bucket{{le=\"+Inf\"}} {0}\n"
      "teamreg_commit_batch_size_count {0}\nteamreg_commit_batch_size_sum {1}\n",
      batch_count_, batch_sum_);
  out += fmt::format(
      "# HELP teamreg_idempotent_replays_total Responses replayed for a repeated Idempotency-Key.\n"
      "# TYPE teamreg_idempotent_replays_total counter\nteamreg_idempotent_replays_total {}\n"
      "# HELP teamreg_sweeper_deleted_total Orphaned staged files deleted.\n"
      "# TYPE teamreg_sweeper_deleted_total counter\nteamreg_sweeper_deleted_total {}\n"
      "# HELP teamreg_sweeper_promoted_total Staged files of committed teams promoted late.\n"
      "# TYPE teamreg_sweeper_promoted_total counter\nteamreg_sweeper_promoted_total {}\n",
      replays_.load(), sweeper_deleted_.load(), sweeper_promoted_.load());
  if (gauges) gauges(out);
  return out;
}

}  // namespace teamreg::app
