#include "registration/committer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "registration/refusals.hpp"
#include "registration/response.hpp"

namespace teamreg {
namespace {

/// Runs a callback of someone else's on the committer thread: whatever it throws is logged, so
/// it can neither end the process nor stop the outcomes of the registrations after it.
template <typename F>
void guarded(std::string_view what, std::string_view request_id, F&& call) {
  try {
    call();
  } catch (const std::exception& e) {
    spdlog::error("committer callback failed callback={} request_id={} error=\"{}\"", what,
                  request_id, e.what());
  } catch (...) {
    spdlog::error("committer callback failed callback={} request_id={} error=unknown", what,
                  request_id);
  }
}

Error outcome_unknown() {
  return Error{ErrorCode::kServiceUnavailable,
               "The outcome of this registration is unknown: the connection to the database was "
               "lost while it was being saved. Please retry with the same Idempotency-Key to get "
               "its outcome.",
               {},
               "ambiguous commit not resolved"};
}

}  // namespace

Committer::Committer(storage::Store& store, CommitterConfig config)
    : store_(store), config_(std::move(config)), thread_([this] { run(); }) {}

Committer::~Committer() {
  stop();
}

bool Committer::submit(Registration registration, Callback done, Clock::time_point since) {
  if (!registration.idempotency_key.empty()) {
    registration.answers = idempotent_answers(registration, config_.rules.teams_per_church);
  }
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= config_.max_queue) return false;
    queue_.push_back(Item{std::move(registration), std::move(done), since});
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
    // Registrations that waited past their deadline (the database stalled on earlier batches)
    // get their 503 now: nothing was attempted for them, so nothing was stored.
    const auto started = Clock::now();
    const auto expired = std::stable_partition(items.begin(), items.end(), [&](const Item& item) {
      return started < item.queued_at + config_.deadline;
    });
    if (expired != items.end()) {
      spdlog::warn("commit queue deadline passed count={} deadline_ms={}", items.end() - expired,
                   config_.deadline.count());
      const auto answer = unavailable(1).front();
      for (auto it = expired; it != items.end(); ++it) {
        guarded("done", it->registration.request_id, [&] { it->done(answer); });
      }
      items.erase(expired, items.end());
      if (items.empty()) continue;
    }
    std::vector<Registration> batch;
    batch.reserve(items.size());
    for (Item& item : items) batch.push_back(std::move(item.registration));
    // Items are in queue order: the first is the oldest.
    const auto until = items.front().queued_at + config_.deadline;
    std::vector<CommitResult> outcomes = commit_with_retries(batch, until);
    if (config_.on_batch) {
      guarded("on_batch", {}, [&] {
        config_.on_batch(batch.size(), std::chrono::duration<double, std::milli>(
                                           std::chrono::steady_clock::now() - started)
                                           .count());
      });
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      guarded("done", batch[i].request_id, [&] { items[i].done(std::move(outcomes[i])); });
    }
  }
}

std::vector<CommitResult> Committer::commit_with_retries(std::span<const Registration> batch,
                                                         Clock::time_point until, bool ambiguous) {
  std::minstd_rand jitter(std::random_device{}());
  auto backoff = config_.base_backoff;
  // `ambiguous`: some attempt may have committed, so "nothing was stored" is not known.
  for (int attempt = 1;; ++attempt) {
    try {
      return results(batch, store_.commit_batch(batch, config_.rules));
    } catch (const storage::AmbiguousCommitError& e) {
      ambiguous = true;
      spdlog::warn("commit batch outcome unknown attempt={} size={} error=\"{}\"", attempt,
                   batch.size(), e.what());
      if (attempt >= config_.max_attempts) break;
    } catch (const storage::TransientError& e) {
      spdlog::warn("commit batch failed attempt={} size={} error=\"{}\"", attempt, batch.size(),
                   e.what());
      if (attempt >= config_.max_attempts) break;
    } catch (const std::exception& e) {
      spdlog::error("commit batch failed size={} error=\"{}\"", batch.size(), e.what());
      if (batch.size() > 1) return commit_one_by_one(batch, until, ambiguous);
      break;
    }
    // Capped exponential backoff with full jitter, so retrying processes do not stampede.
    const auto sleep =
        std::chrono::milliseconds(std::uniform_int_distribution<long>(0, backoff.count())(jitter));
    if (Clock::now() + sleep >= until) {
      spdlog::warn("commit batch deadline passed attempts={} size={}", attempt, batch.size());
      break;
    }
    std::this_thread::sleep_for(sleep);
    backoff = std::min(backoff * 2, config_.max_backoff);
  }
  return ambiguous ? resolve(batch) : unavailable(batch.size());
}

std::vector<CommitResult> Committer::commit_one_by_one(std::span<const Registration> batch,
                                                       Clock::time_point until, bool ambiguous) {
  // A non-transient failure must not take innocent neighbours down with it: isolate the culprit.
  std::vector<CommitResult> outcomes;
  outcomes.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto one = commit_with_retries(batch.subspan(i, 1), until, ambiguous);
    outcomes.push_back(std::move(one.front()));
  }
  return outcomes;
}

std::vector<CommitResult> Committer::results(std::span<const Registration> batch,
                                             std::vector<storage::CommitOutcome> outcomes) const {
  if (outcomes.size() != batch.size()) {
    throw std::runtime_error("store returned a different number of outcomes than registrations");
  }
  std::vector<CommitResult> answers;
  answers.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Registration& r = batch[i];
    if (auto* committed = std::get_if<storage::Committed>(&outcomes[i])) {
      std::string body =
          registered_body(committed->team_id, r.team_name, static_cast<int>(r.players.size()));
      answers.emplace_back(
          Created{committed->number, std::move(committed->team_id), std::move(body)});
    } else if (auto* replayed = std::get_if<storage::Replayed>(&outcomes[i])) {
      answers.emplace_back(std::move(*replayed));
    } else {
      const auto& refused = std::get<storage::Refused>(outcomes[i]);
      answers.emplace_back(
          refusal_error(refused.rule, config_.rules.teams_per_church, refused.by_index));
    }
  }
  return answers;
}

std::vector<CommitResult> Committer::resolve(std::span<const Registration> batch) {
  std::vector<CommitResult> answers;
  answers.reserve(batch.size());
  bool reachable = true;
  for (const Registration& r : batch) {
    if (!reachable) {
      answers.emplace_back(outcome_unknown());
      continue;
    }
    try {
      if (auto committed = store_.find_committed(r.request_uuid)) {
        spdlog::info("ambiguous commit resolved request_id={} team_id={}", r.request_id,
                     committed->team_id);
        std::string body =
            registered_body(committed->team_id, r.team_name, static_cast<int>(r.players.size()));
        answers.emplace_back(
            Created{committed->number, std::move(committed->team_id), std::move(body)});
        continue;
      }
    } catch (const std::exception& e) {
      spdlog::warn("ambiguous commit look-up failed request_id={} error=\"{}\"", r.request_id,
                   e.what());
      reachable = false;
    }
    answers.emplace_back(outcome_unknown());
  }
  return answers;
}

std::vector<CommitResult> Committer::unavailable(std::size_t count) {
  // Only for failures known to have stored nothing (no attempt reached a COMMIT that may have
  // been applied).
  const Error error{ErrorCode::kServiceUnavailable,
                    "The registration could not be saved right now; nothing was stored. "
                    "Please retry.",
                    {},
                    "database unavailable after retries"};
  return std::vector<CommitResult>(count, error);
}

}  // namespace teamreg
