#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "core/error.hpp"
#include "registration/model.hpp"
#include "storage/store.hpp"

namespace teamreg {

struct CommitterConfig {
  std::size_t max_batch = 64;    ///< registrations per transaction at most
  std::size_t max_queue = 1024;  ///< waiting registrations at most; beyond that, 503
  int max_attempts = 8;          ///< tries per batch on transient database errors
  std::chrono::milliseconds base_backoff{20};
  std::chrono::milliseconds max_backoff{2000};
  /// How long a registration may wait for its commit, queue included. A registration still
  /// queued past it is answered 503 (nothing stored) without an attempt; a batch stops retrying
  /// when its oldest registration passes it. The answer may come one database timeout later (the
  /// attempt under way is not cut short).
  std::chrono::milliseconds deadline{20000};
  storage::CommitRules rules;
  /// After each batch's commit attempts: its size and how long they took. For metrics; may be
  /// empty.
  std::function<void(std::size_t batch_size, double milliseconds)> on_batch;
};

/// A registration that is stored under this ID, with the 201 body to answer.
struct Created {
  std::int64_t number = 0;
  std::string team_id;
  std::string body;
};

/// The answer for one registration: stored, a replay of a stored answer, or an error (a refusal,
/// 503 when nothing was stored, 503 saying the outcome is unknown after an unresolved ambiguous
/// commit).
using CommitResult = std::variant<Created, storage::Replayed, Error>;

/// Group commit: one thread drains the queue of validated registrations and commits whatever is
/// waiting as one transaction (batch of 1 when idle, so no added latency; larger under load).
/// Numbers are allocated in queue order. Every registration gets exactly one outcome callback,
/// called on the committer thread; one that throws is logged and does not stop the others.
class Committer final {
 public:
  using Callback = std::function<void(CommitResult)>;

  Committer(storage::Store& store, CommitterConfig config);
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;
  ~Committer();

  /// Queues a registration (rendering the answers to store for its Idempotency-Key, if any).
  /// Its deadline counts from `since` (when the request was ready to commit). False (and no
  /// callback) when the queue is full or stopping.
  bool submit(Registration registration, Callback done,
              std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now());
  std::chrono::milliseconds deadline() const { return config_.deadline; }
  /// Commits what is queued, then stops the thread.
  void stop();
  std::size_t queue_depth() const;
  /// Count of batches and of registrations committed, for metrics.
  std::size_t batches() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Item {
    Registration registration;
    Callback done;
    Clock::time_point queued_at;
  };
  void run();
  /// `ambiguous`: an earlier attempt at these registrations may have committed. No attempt
  /// starts after `until`.
  std::vector<CommitResult> commit_with_retries(std::span<const Registration> batch,
                                                Clock::time_point until, bool ambiguous = false);
  std::vector<CommitResult> commit_one_by_one(std::span<const Registration> batch,
                                              Clock::time_point until, bool ambiguous);
  std::vector<CommitResult> results(std::span<const Registration> batch,
                                    std::vector<storage::CommitOutcome> outcomes) const;
  /// After an ambiguous commit that retries did not settle: each registration looked up by its
  /// request_uuid; found means Created, anything else means the outcome is unknown. The first
  /// failed look-up ends the look-ups (the database is unreachable): the rest are unknown.
  std::vector<CommitResult> resolve(std::span<const Registration> batch);
  static std::vector<CommitResult> unavailable(std::size_t count);

  storage::Store& store_;
  CommitterConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::size_t batches_ = 0;
  std::thread thread_;
};

}  // namespace teamreg
