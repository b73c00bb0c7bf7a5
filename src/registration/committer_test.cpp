#include "registration/committer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "registration/response.hpp"
#include "testing/fake_store.hpp"

namespace teamreg {
namespace {

using namespace std::chrono_literals;

Registration sample(const std::string& tag) {
  Registration r;
  r.request_uuid = "uuid-" + tag;
  r.request_id = "req-" + tag;
  r.team_name = "Team " + tag;
  r.church_name = "Church " + tag;
  for (int i = 0; i < 11; ++i) r.players.push_back(Player{"Player", ""});
  return r;
}

CommitterConfig quick_config() {
  CommitterConfig config;
  config.max_attempts = 3;
  config.base_backoff = 1ms;
  config.max_backoff = 2ms;
  return config;
}

/// Submits and waits for the outcome.
CommitResult commit(Committer& committer, Registration r) {
  std::promise<CommitResult> done;
  auto future = done.get_future();
  EXPECT_TRUE(committer.submit(std::move(r),
                               [&](CommitResult outcome) { done.set_value(std::move(outcome)); }));
  return future.get();
}

TEST(Committer, AnAmbiguousCommitNotFoundByItsRequestUuidIsReportedAsUnknown) {
  testing::FakeStore store;
  store.on_commit([](std::span<const Registration>,
                     const storage::CommitRules&) -> std::vector<storage::CommitOutcome> {
    throw storage::AmbiguousCommitError("connection lost during COMMIT");
  });
  std::vector<std::string> looked_up;
  store.on_find_committed([&](std::string_view uuid) -> std::optional<storage::Committed> {
    looked_up.emplace_back(uuid);
    return std::nullopt;
  });
  Committer committer(store, quick_config());
  const CommitResult outcome = commit(committer, sample("a"));
  const auto* error = std::get_if<Error>(&outcome);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, ErrorCode::kServiceUnavailable);
  EXPECT_NE(error->message.find("outcome of this registration is unknown"), std::string::npos)
      << error->message;
  EXPECT_NE(error->message.find("retry with the same Idempotency-Key"), std::string::npos)
      << error->message;
  EXPECT_EQ(error->message.find("nothing was stored"), std::string::npos) << error->message;
  EXPECT_EQ(store.commit_calls(), 3);
  EXPECT_EQ(looked_up, std::vector<std::string>{"uuid-a"});
}

TEST(Committer, AnAmbiguousCommitFoundByItsRequestUuidIsCommitted) {
  testing::FakeStore store;
  store.on_commit([](std::span<const Registration>,
                     const storage::CommitRules&) -> std::vector<storage::CommitOutcome> {
    throw storage::AmbiguousCommitError("connection lost during COMMIT");
  });
  store.on_find_committed([](std::string_view uuid) -> std::optional<storage::Committed> {
    if (uuid == "uuid-a") return storage::Committed{7, "ICCT-007"};
    return std::nullopt;
  });
  Committer committer(store, quick_config());
  const CommitResult outcome = commit(committer, sample("a"));
  const auto* created = std::get_if<Created>(&outcome);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->team_id, "ICCT-007");
  EXPECT_EQ(created->number, 7);
  EXPECT_EQ(created->body, registered_body("ICCT-007", "Team a", 11));
}

TEST(Committer, AFailureKnownToHaveStoredNothingSaysSo) {
  testing::FakeStore store;
  store.on_commit([](std::span<const Registration>,
                     const storage::CommitRules&) -> std::vector<storage::CommitOutcome> {
    throw storage::TransientError("could not connect");
  });
  bool looked_up = false;
  store.on_find_committed([&](std::string_view) -> std::optional<storage::Committed> {
    looked_up = true;
    return std::nullopt;
  });
  Committer committer(store, quick_config());
  const CommitResult outcome = commit(committer, sample("a"));
  const auto& error = std::get<Error>(outcome);
  EXPECT_EQ(error.code, ErrorCode::kServiceUnavailable);
  EXPECT_NE(error.message.find("nothing was stored"), std::string::npos) << error.message;
  EXPECT_FALSE(looked_up);
}

TEST(Committer, OneAmbiguousAttemptMakesTheOutcomeUnknownWhateverFailsAfterIt) {
  testing::FakeStore store;
  int attempts = 0;
  store.on_commit([&](std::span<const Registration>,
                      const storage::CommitRules&) -> std::vector<storage::CommitOutcome> {
    if (++attempts == 1) throw storage::AmbiguousCommitError("connection lost during COMMIT");
    throw storage::TransientError("could not connect");
  });
  Committer committer(store, quick_config());
  const CommitResult outcome = commit(committer, sample("a"));
  const auto& error = std::get<Error>(outcome);
  EXPECT_EQ(error.code, ErrorCode::kServiceUnavailable);
  EXPECT_NE(error.message.find("unknown"), std::string::npos) << error.message;
}

TEST(Committer, ARegistrationPastItsDeadlineIsRefusedWithoutAnAttempt) {
  testing::FakeStore store;
  CommitterConfig config = quick_config();
  config.deadline = 50ms;
  Committer committer(store, config);
  std::promise<CommitResult> done;
  auto future = done.get_future();
  ASSERT_TRUE(committer.submit(
      sample("late"), [&](CommitResult outcome) { done.set_value(std::move(outcome)); },
      std::chrono::steady_clock::now() - 60ms));
  const CommitResult outcome = future.get();
  const auto& error = std::get<Error>(outcome);
  EXPECT_EQ(error.code, ErrorCode::kServiceUnavailable);
  EXPECT_NE(error.message.find("nothing was stored"), std::string::npos) << error.message;
  EXPECT_EQ(store.commit_calls(), 0);
  // A registration within its deadline is committed as usual.
  EXPECT_TRUE(std::holds_alternative<Created>(commit(committer, sample("on-time"))));
}

TEST(Committer, RetriesStopAtTheDeadlineAndOneFailedLookUpEndsTheLookUps) {
  testing::FakeStore store;
  store.on_commit([](std::span<const Registration>,
                     const storage::CommitRules&) -> std::vector<storage::CommitOutcome> {
    std::this_thread::sleep_for(40ms);  // a statement that ran into its timeout
    throw storage::AmbiguousCommitError("no answer within 40 ms");
  });
  int lookups = 0;
  store.on_find_committed([&](std::string_view) -> std::optional<storage::Committed> {
    ++lookups;
    throw storage::StatementTimeoutError("no answer within 40 ms");
  });
  CommitterConfig config = quick_config();
  config.max_attempts = 1000;  // only the deadline can stop the retries
  config.base_backoff = 10ms;
  config.max_backoff = 10ms;
  config.deadline = 200ms;
  Committer committer(store, config);
  std::vector<std::promise<CommitResult>> done(4);
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < done.size(); ++i) {
    ASSERT_TRUE(committer.submit(sample(std::to_string(i)), [&done, i](CommitResult outcome) {
      done[i].set_value(std::move(outcome));
    }));
  }
  for (auto& d : done) {
    const CommitResult outcome = d.get_future().get();
    const auto& error = std::get<Error>(outcome);
    EXPECT_EQ(error.code, ErrorCode::kServiceUnavailable);
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 2s) << "the deadline did not stop the retries";
  EXPECT_LT(store.commit_calls(), 20);
  EXPECT_LE(lookups, 2) << "look-ups went on after the database was found unreachable";
}

TEST(Committer, ACallbackThatThrowsNeitherEndsTheProcessNorStopsLaterCommits) {
  testing::FakeStore store;
  CommitterConfig config = quick_config();
  config.on_batch = [](std::size_t, double) { throw std::runtime_error("metrics broke"); };
  Committer committer(store, config);
  std::promise<void> first;
  ASSERT_TRUE(committer.submit(sample("a"), [&](CommitResult) {
    first.set_value();
    throw std::runtime_error("the responder failed");
  }));
  first.get_future().wait();
  std::promise<void> second;
  ASSERT_TRUE(committer.submit(sample("b"), [&](CommitResult) {
    second.set_value();
    throw 42;  // not even a std::exception
  }));
  second.get_future().wait();
  const CommitResult later = commit(committer, sample("c"));
  ASSERT_TRUE(std::holds_alternative<Created>(later));
  EXPECT_EQ(std::get<Created>(later).team_id, "T-3");
}

TEST(Committer, RefusalsBecomeErrorsAndKeyedRegistrationsCarryTheirRenderedAnswers) {
  testing::FakeStore store;
  store.on_commit([](std::span<const Registration> batch, const storage::CommitRules&) {
    return std::vector<storage::CommitOutcome>(batch.size(),
                                               storage::refused(Refusal::kChurchLimitReached));
  });
  CommitterConfig config = quick_config();
  config.rules.teams_per_church = 3;
  Committer committer(store, config);
  Registration keyed = sample("a");
  keyed.idempotency_key = "key-a";
  const CommitResult outcome = commit(committer, keyed);
  const auto& error = std::get<Error>(outcome);
  EXPECT_EQ(error.code, ErrorCode::kChurchLimitReached);
  EXPECT_EQ(error.message, "Maximum 3 teams already registered for this church");
  EXPECT_EQ(error.field, "church_name");

  const auto calls = store.committed_calls();
  ASSERT_EQ(calls.size(), 1U);
  const IdempotentAnswers& answers = calls[0].answers;
  EXPECT_EQ(answers.created_status, 201U);
  EXPECT_EQ(answers.created_head + "\"ICCT-001\"" + answers.created_tail,
            registered_body("ICCT-001", "Team a", 11));
  const StoredAnswer& church = answers.for_refusal(Refusal::kChurchLimitReached);
  EXPECT_EQ(church.status, 409U);
  EXPECT_EQ(church.body, error_body(error, "req-a"));
}

}  // namespace
}  // namespace teamreg
