#include "app/metrics.hpp"

#include <fmt/format.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace teamreg::app {

std::uint64_t heap_in_use_bytes() {
#if defined(__GLIBC__)
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
#else
  return 0;
#endif
}

void release_free_heap() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

Histogram::Histogram(std::string name, std::string help, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      bounds_(std::move(bounds)),
      buckets_(bounds_.size(), 0) {}

void Histogram::observe(double value) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) ++buckets_[i];
  }
  ++count_;
  sum_ += value;
}

void Histogram::render(std::string& out) const {
  out += fmt::format("# HELP {0} {1}\n# TYPE {0} histogram\n", name_, help_);
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name_, bounds_[i], buckets_[i]);
  }
  out += fmt::format("{0}_bucket{{le=\"+Inf\"}} {1}\n{0}_count {1}\n{0}_sum {2}\n", name_, count_,
                     sum_);
}

Metrics::Metrics()
    : registration_seconds_("teamreg_registration_duration_seconds",
                            "Time from request start to 201.",
                            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}),
      batch_size_("teamreg_commit_batch_size", "Registrations per group-commit transaction.",
                  {1, 2, 4, 8, 16, 32, 64, 128}),
      commit_seconds_("teamreg_commit_duration_seconds",
                      "Time the database took to commit one group-commit transaction.",
                      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}) {}

void Metrics::record_request(const std::string& route, unsigned status) {
  const std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::record_registration(double ms) {
  const std::lock_guard lock(mutex_);
  registration_seconds_.observe(ms / 1000.0);
}

void Metrics::record_batch(std::size_t size, double ms) {
  const std::lock_guard lock(mutex_);
  batch_size_.observe(static_cast<double>(size));
  commit_seconds_.observe(ms / 1000.0);
}

void Metrics::record_sweep(std::size_t deleted, std::size_t promoted) {
  sweeper_deleted_ += deleted;
  sweeper_promoted_ += promoted;
}

std::string Metrics::render(const std::function<void(std::string&)>& gauges) const {
  std::string out;
  std::unique_lock lock(mutex_);
  out +=
      "# HELP teamreg_http_requests_total HTTP requests answered, by route pattern and status.\n"
      "# TYPE teamreg_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out += fmt::format("teamreg_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, count);
  }
  registration_seconds_.render(out);
  batch_size_.render(out);
  commit_seconds_.render(out);
  // The gauges may ask the database, which can hang while it is down: never under the lock that
  // every answered request takes to count itself.
  lock.unlock();
  out += fmt::format(
      "# HELP teamreg_idempotent_replays_total Responses replayed for a repeated Idempotency-Key.\n"
      "# TYPE teamreg_idempotent_replays_total counter\nteamreg_idempotent_replays_total {}\n"
      "# HELP teamreg_sweeps_total Passes of the sweeper over staging.\n"
      "# TYPE teamreg_sweeps_total counter\nteamreg_sweeps_total {}\n"
      "# HELP teamreg_sweeper_deleted_total Orphaned staged files deleted.\n"
      "# TYPE teamreg_sweeper_deleted_total counter\nteamreg_sweeper_deleted_total {}\n"
      "# HELP teamreg_sweeper_promoted_total Staged files of committed teams promoted late.\n"
      "# TYPE teamreg_sweeper_promoted_total counter\nteamreg_sweeper_promoted_total {}\n"
      "# HELP teamreg_mail_deliveries_total Mails this process handed to the SMTP server.\n"
      "# TYPE teamreg_mail_deliveries_total counter\nteamreg_mail_deliveries_total {}\n"
      "# HELP teamreg_mail_failures_total Delivery attempts of this process that failed.\n"
      "# TYPE teamreg_mail_failures_total counter\nteamreg_mail_failures_total {}\n"
      "# HELP teamreg_heap_in_use_bytes Bytes in live allocations of the C allocator.\n"
      "# TYPE teamreg_heap_in_use_bytes gauge\nteamreg_heap_in_use_bytes {}\n",
      replays_.load(), sweeps_.load(), sweeper_deleted_.load(), sweeper_promoted_.load(),
      mail_deliveries_.load(), mail_failures_.load(), heap_in_use_bytes());
  if (gauges) gauges(out);
  return out;
}

}  // namespace teamreg::app
