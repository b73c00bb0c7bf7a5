#include "registration/committer.hpp"

#include <spdlog/spdlog.h>

#include <random>

namespace teamreg {

Committer::Committer(storage::Store& store, CommitterConfig config)
    : store_(store), config_(std::move(config)), thread_([this] { run(); }) {}

Committer::~Committer() {
  stop();
}

bool Committer::submit(Registration registration, Callback done) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= config_.max_queue) return false;
    queue_.push_back(Item{std::move(registration), std::move(done)});
  }
  wake_.notify_one();
  return true;
}

void Committer::stop() {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t Committer::queue_depth() const {
  const std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t Committer::batches() const {
  const std::lock_guard lock(mutex_);
  return batches_;
}

void Committer::run() {
  for (;;) {
    std::vector<Item> items;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      const std::size_t n = std::min(queue_.size(), config_.max_batch);
      items.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++batches_;
    }
    std::vector<Registration> batch;
    batch.reserve(items.size());
    for (Item& item : items) batch.push_back(std::move(item.registration));
    const auto started = std::chrono::steady_clock::now();
    std::vector<storage::CommitOutcome> outcomes = commit_with_retries(batch);
    if (config_.on_batch) {
      config_.on_batch(batch.size(), std::chrono::duration<double, std::milli>(
                                         std::chrono::steady_clock::now() - started)
                                         .count());
    }
    for (std::size_t i = 0; i < items.size(); ++i) items[i].done(std::move(outcomes[i]));
  }
}

std::vector<storage::CommitOutcome> Committer::commit_with_retries(
    std::span<const Registration> batch) {
  std::minstd_rand jitter(std::random_device{}());
  auto backoff = config_.base_backoff;
  for (int attempt = 1;; ++attempt) {
    try {
      return store_.commit_batch(batch, config_.rules);
    } catch (const storage::TransientError& e) {
      spdlog::warn("commit batch failed attempt={} size={} error=\"{}\"", attempt, batch.size(),
                   e.what());
      if (attempt >= config_.max_attempts) break;
    } catch (const std::exception& e) {
      spdlog::error("commit batch failed size={} error=\"{}\"", batch.size(), e.what());
      if (batch.size() > 1) return commit_one_by_one(batch);
      break;
    }
    // Capped exponential backoff with full jitter, so retrying processes do not stampede.
    const auto sleep_ms = std::uniform_int_distribution<long>(0, backoff.count())(jitter);
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    backoff = std::min(backoff * 2, config_.max_backoff);
  }
  return unavailable(batch.size());
}

std::vector<storage::CommitOutcome> Committer::commit_one_by_one(
    std::span<const Registration> batch) {
  // A non-transient failure must not take innocent neighbours down with it: isolate the culprit.
  std::vector<storage::CommitOutcome> outcomes;
  outcomes.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto one = commit_with_retries(batch.subspan(i, 1));
    outcomes.push_back(std::move(one.front()));
  }
  return outcomes;
}

std::vector<storage::CommitOutcome> Committer::unavailable(std::size_t count) {
  const Error error{ErrorCode::kServiceUnavailable,
                    "The registration could not be saved right now; nothing was stored. "
                    "Please retry.",
                    {},
                    "database unavailable after retries"};
  return std::vector<storage::CommitOutcome>(count, error);
}

}  // namespace teamreg
