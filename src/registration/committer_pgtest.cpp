// The committer against a real PostgreSQL: server restarts, callbacks that throw.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "core/uuid.hpp"
#include "registration/committer.hpp"
#include "registration/response.hpp"
#include "registration/validation.hpp"
#include "storage/postgres/pg_store.hpp"
#include "testing/pg_server.hpp"

namespace teamreg {
namespace {

using namespace std::chrono_literals;
using storage::postgres::PgConfig;
using storage::postgres::PgStore;

const storage::CommitRules kRules{"team", 2};

Registration sample(const std::string& tag) {
  Registration r;
  r.request_uuid = random_uuid();
  r.request_id = "req-" + tag;
  r.team_name = "Team " + tag;
  r.team_key = team_key(r.team_name);
  r.church_name = "Church " + tag;
  r.church_key = church_key(r.church_name);
  r.captain = Person{"Captain " + tag, "9876543210", "captain." + tag + "@example.com", ""};
  r.vice = Person{"Vice " + tag, "8765432109", "vice." + tag + "@example.com", ""};
  for (int i = 0; i < 12; ++i) r.players.push_back(Player{fmt::format("Player {}", i), "Bowler"});
  r.documents.push_back(
      StagedDocument{"pastor_letter", "key-" + random_uuid(), "application/pdf", 100});
  return r;
}

class CommitterPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = testing::PgServer::shared().create_database();
    store_ = std::make_unique<PgStore>(PgConfig{.dsn = dsn_});
    store_->migrate("team", ids::SequenceFormat{"ICCT", 3});
  }
  std::int64_t query_int(const std::string& sql) {
    return storage::postgres::Connection(dsn_).exec("raw", sql).int64(0, 0);
  }
  /// Stored numbers are exactly 1..n, each request_uuid at most once.
  void expect_gapless(std::int64_t n) {
    EXPECT_EQ(query_int("SELECT COUNT(*) FROM teams"), n);
    EXPECT_EQ(query_int("SELECT COUNT(DISTINCT number) FROM teams"), n);
    EXPECT_EQ(query_int("SELECT COALESCE(MAX(number), 0) FROM teams"), n);
    EXPECT_EQ(query_int("SELECT COUNT(DISTINCT request_uuid) FROM teams"), n);
    EXPECT_EQ(query_int("SELECT last_number FROM id_sequences WHERE name = 'team'"), n);
  }

  std::string dsn_;
  std::unique_ptr<PgStore> store_;
};

TEST_F(CommitterPgTest, TheCommitterRidesThroughAFastRestart) {
  CommitterConfig config;
  config.max_attempts = 60;
  config.base_backoff = 20ms;
  config.max_backoff = 200ms;
  config.rules = kRules;
  Committer committer(*store_, config);
  constexpr int kRegistrations = 240;
  std::vector<std::promise<CommitResult>> promises(kRegistrations);
  std::vector<std::future<CommitResult>> futures;
  std::vector<Registration> registrations;
  for (int i = 0; i < kRegistrations; ++i) {
    futures.push_back(promises[static_cast<std::size_t>(i)].get_future());
    registrations.push_back(sample(fmt::format("c{}", i)));
  }
  std::atomic<int> submitted{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&, p] {
      for (int i = p; i < kRegistrations; i += 4) {
        auto& promise = promises[static_cast<std::size_t>(i)];
        while (!committer.submit(registrations[static_cast<std::size_t>(i)],
                                 [&promise](CommitResult o) { promise.set_value(std::move(o)); })) {
          std::this_thread::sleep_for(1ms);
        }
        ++submitted;
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  while (submitted < kRegistrations / 3) std::this_thread::sleep_for(2ms);
  testing::PgServer::shared().restart_fast();
  for (auto& producer : producers) producer.join();

  std::int64_t committed = 0;
  storage::postgres::Connection db(dsn_);
  for (int i = 0; i < kRegistrations; ++i) {
    const CommitResult outcome = futures[static_cast<std::size_t>(i)].get();
    if (const auto* c = std::get_if<Created>(&outcome)) {
      ++committed;
      const storage::postgres::Result row =
          db.exec("raw", "SELECT team_id FROM teams WHERE request_uuid = $1",
                  {registrations[static_cast<std::size_t>(i)].request_uuid});
      ASSERT_EQ(row.rows(), 1);
      EXPECT_EQ(row.text(0, 0), c->team_id);
    } else {
      // Never a 500: only 503 after the retries.
      const auto& error = std::get<Error>(outcome);
      EXPECT_EQ(error.code, ErrorCode::kServiceUnavailable);
    }
  }
  EXPECT_EQ(committed, kRegistrations);  // 60 attempts outlast a fast restart
  expect_gapless(committed);
}

TEST_F(CommitterPgTest, ACallbackThatThrowsNeitherEndsTheProcessNorStopsLaterCommits) {
  CommitterConfig config;
  config.rules = kRules;
  config.on_batch = [](std::size_t, double) { throw std::runtime_error("metrics broke"); };
  Committer committer(*store_, config);
  std::promise<void> thrown;
  ASSERT_TRUE(committer.submit(sample("a"), [&](CommitResult) {
    thrown.set_value();
    throw std::runtime_error("a responder failed");
  }));
  thrown.get_future().wait();
  std::promise<CommitResult> later;
  ASSERT_TRUE(
      committer.submit(sample("b"), [&](CommitResult o) { later.set_value(std::move(o)); }));
  const CommitResult outcome = later.get_future().get();
  ASSERT_TRUE(std::holds_alternative<Created>(outcome));
  EXPECT_EQ(std::get<Created>(outcome).team_id, "ICCT-002");
  expect_gapless(2);
}

TEST_F(CommitterPgTest, AnswersRenderedByRegistrationAreStoredAndReplayedByteForByte) {
  CommitterConfig config;
  config.rules = kRules;
  Committer committer(*store_, config);
  Registration a = sample("a");
  a.idempotency_key = "key-a";
  a.idempotency_fingerprint = "fp-a";
  Registration dup = sample("dup");
  dup.captain.email = a.captain.email;
  dup.idempotency_key = "key-dup";
  dup.idempotency_fingerprint = "fp-dup";
  const auto submit = [&](Registration r) {
    std::promise<CommitResult> done;
    auto future = done.get_future();
    EXPECT_TRUE(
        committer.submit(std::move(r), [&](CommitResult o) { done.set_value(std::move(o)); }));
    return future.get();
  };
  const auto created = std::get<Created>(submit(a));
  EXPECT_EQ(created.body, registered_body("ICCT-001", a.team_name, 12));
  EXPECT_EQ(store_->find_idempotent("key-a")->body, created.body);
  const auto refused = std::get<Error>(submit(dup));
  EXPECT_EQ(refused.code, ErrorCode::kDuplicateCaptainEmail);
  const auto stored = store_->find_idempotent("key-dup");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->status, 409U);
  EXPECT_EQ(stored->body, error_body(refused, dup.request_id));
}

}  // namespace
}  // namespace teamreg
