#pragma once

#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace teamreg::testing {

/// A Store whose commit and look-up do what the test says; every other method is never called by
/// the code under test and throws. Records the batches it was given. Thread-safe.
class FakeStore final : public storage::Store {
 public:
  using CommitFn = std::function<std::vector<storage::CommitOutcome>(std::span<const Registration>,
                                                                     const storage::CommitRules&)>;
  using FindFn = std::function<std::optional<storage::Committed>(std::string_view)>;

  /// By default every registration commits with the next number, and look-ups find nothing.
  FakeStore() = default;

  void on_commit(CommitFn fn) {
    const std::lock_guard lock(mutex_);
    commit_ = std::move(fn);
  }
  void on_find_committed(FindFn fn) {
    const std::lock_guard lock(mutex_);
    find_ = std::move(fn);
  }
  /// Every registration given to commit_batch, in call order (retries included).
  std::vector<Registration> committed_calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
  }
  int commit_calls() const {
    const std::lock_guard lock(mutex_);
    return commit_calls_;
  }

  std::vector<storage::CommitOutcome> commit_batch(std::span<const Registration> batch,
                                                   const storage::CommitRules& rules) override {
    CommitFn fn;
    {
      const std::lock_guard lock(mutex_);
      ++commit_calls_;
      calls_.insert(calls_.end(), batch.begin(), batch.end());
      fn = commit_;
    }
    if (fn) return fn(batch, rules);
    std::vector<storage::CommitOutcome> outcomes;
    const std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ++last_number_;
      outcomes.emplace_back(storage::Committed{last_number_, "T-" + std::to_string(last_number_)});
    }
    return outcomes;
  }
  std::optional<storage::Committed> find_committed(std::string_view request_uuid) override {
    FindFn fn;
    {
      const std::lock_guard lock(mutex_);
      fn = find_;
    }
    if (fn) return fn(request_uuid);
    return std::nullopt;
  }

  void migrate(const std::string&, const ids::SequenceFormat&) override { unused(); }
  std::optional<storage::StoredResponse> find_idempotent(std::string_view) override { unused(); }
  storage::TeamPage list_teams(int, int) override { unused(); }
  std::optional<storage::TeamRecord> find_team(std::string_view) override { unused(); }
  std::vector<storage::ChurchCount> church_counts() override { unused(); }
  storage::SequenceState sequence(const std::string&) override { unused(); }
  storage::SequenceState sync_sequence(const std::string&, std::string_view) override { unused(); }
  std::vector<std::string> referenced_keys(std::span<const std::string>) override { unused(); }
  void purge_idempotency() override { unused(); }
  bool ping() override { return true; }
  int schema_version() override { unused(); }
  std::vector<std::string> unique_keys() override { unused(); }

 private:
  [[noreturn]] static void unused() { throw std::logic_error("FakeStore: not faked"); }

  mutable std::mutex mutex_;
  CommitFn commit_;
  FindFn find_;
  std::vector<Registration> calls_;
  int commit_calls_ = 0;
  std::int64_t last_number_ = 0;
};

}  // namespace teamreg::testing
