// PostgreSQL-only behaviour: ambiguous commits, server restarts, the pools, error hygiene.
// The behaviour shared with SQLite is in storage/store_behaviour_pgtest.cpp.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "core/uuid.hpp"
#include "storage/postgres/pg_store.hpp"
#include "testing/pg_server.hpp"
#include "testing/registrations.hpp"

namespace teamreg::storage::postgres {
namespace {

using namespace std::chrono_literals;

const ids::SequenceFormat kFormat{"ICCT", 3};
const CommitRules kRules{"team", 2};

Registration sample(const std::string& tag) {
  Registration r;
  r.request_uuid = random_uuid();
  r.request_id = "req-" + tag;
  r.team_name = "Team " + tag;
  r.church_name = "Church " + tag;
  r.captain = Person{"Captain " + tag, "9876543210", "captain." + tag + "@example.com", ""};
  r.vice = Person{"Vice " + tag, "8765432109", "vice." + tag + "@example.com", ""};
  for (int i = 0; i < 12; ++i) r.players.push_back(Player{fmt::format("Player {}", i), "Bowler"});
  r.documents.push_back(
      StagedDocument{"pastor_letter", "key-" + random_uuid(), "application/pdf", 100});
  testing::rekey(r);
  testing::fake_answers(r);
  return r;
}

/// The same registration under other names (keys follow, as validation would fill them).
Registration renamed(Registration r, std::string team_name, std::string church_name) {
  if (!team_name.empty()) r.team_name = std::move(team_name);
  if (!church_name.empty()) r.church_name = std::move(church_name);
  testing::rekey(r);
  return r;
}

std::string_view rule_name(Refusal rule) {
  switch (rule) {
    case Refusal::kDuplicateCaptainEmail: return "DUPLICATE_CAPTAIN_EMAIL";
    case Refusal::kDuplicateTeam: return "DUPLICATE_TEAM";
    case Refusal::kChurchLimitReached: return "CHURCH_LIMIT_REACHED";
    case Refusal::kUniqueConstraintBackstop: return "BACKSTOP";
    case Refusal::kIdempotencyKeyReused: return "IDEMPOTENCY_KEY_REUSED";
  }
  return "?";
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = testing::PgServer::shared().create_database();
    store_ = open();
    store_->migrate("team", kFormat);
  }
  std::unique_ptr<PgStore> open(std::size_t pool_size = 8,
                                std::chrono::milliseconds acquire_timeout = 5000ms) {
    return std::make_unique<PgStore>(PgConfig{dsn_, pool_size, acquire_timeout});
  }
  std::int64_t query_int(const std::string& sql) {
    return Connection(dsn_).exec("raw", sql).int64(0, 0);
  }
  /// Wraps the one-by-one function so that the test can count the batches that reach it.
  std::function<std::int64_t()> count_one_by_one_calls() {
    Connection db(dsn_);
    db.exec("raw", "CREATE TABLE one_by_one_calls (at timestamptz DEFAULT clock_timestamp())");
    db.exec("raw",
            "ALTER FUNCTION teamreg_register_one_by_one(text, integer, jsonb)"
            " RENAME TO real_one_by_one");
    db.exec("raw",
            "CREATE FUNCTION teamreg_register_one_by_one(s text, n integer, b jsonb) RETURNS jsonb"
            " LANGUAGE plpgsql AS $$ BEGIN INSERT INTO one_by_one_calls DEFAULT VALUES;"
            " RETURN real_one_by_one(s, n, b); END $$");
    return [this] { return query_int("SELECT COUNT(*) FROM one_by_one_calls"); };
  }
  /// Stored numbers are exactly 1..n, each request_uuid at most once.
  void expect_gapless(std::int64_t n) {
    EXPECT_EQ(query_int("SELECT COUNT(*) FROM teams"), n);
    EXPECT_EQ(query_int("SELECT COUNT(DISTINCT number) FROM teams"), n);
    EXPECT_EQ(query_int("SELECT COALESCE(MIN(number), 1) FROM teams"), 1);
    EXPECT_EQ(query_int("SELECT COALESCE(MAX(number), 0) FROM teams"), n);
    EXPECT_EQ(query_int("SELECT COUNT(DISTINCT request_uuid) FROM teams"), n);
    EXPECT_EQ(query_int("SELECT last_number FROM id_sequences WHERE name = 'team'"), n);
  }

  std::string dsn_;
  std::unique_ptr<PgStore> store_;
};

TEST_F(PgStoreTest, ResendingACommittedBatchAnswersWithTheSameTeamsAndNoNewNumbers) {
  // The connection was lost while the batch committed: the committer re-sends the same batch.
  Registration a = sample("a");
  Registration b = sample("b");
  b.idempotency_key = "key-b";
  b.idempotency_fingerprint = "fp-b";
  Registration refused = sample("refused");
  refused.captain.email = a.captain.email;
  const std::vector<Registration> batch{a, b, refused};
  const auto first = store_->commit_batch(batch, kRules);
  ASSERT_EQ(std::get<Committed>(first.at(0)).number, 1);
  ASSERT_EQ(std::get<Committed>(first.at(1)).number, 2);
  ASSERT_EQ(std::get<Refused>(first.at(2)).rule, Refusal::kDuplicateCaptainEmail);

  std::vector<Registration> resent = batch;
  resent.push_back(sample("new"));
  const auto second = store_->commit_batch(resent, kRules);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& was = std::get<Committed>(first[i]);
    const auto& is = std::get<Committed>(second.at(i));  // Committed, not Replayed
    EXPECT_EQ(is.number, was.number);
    EXPECT_EQ(is.team_id, was.team_id);
  }
  EXPECT_EQ(store_->find_idempotent("key-b")->body, testing::fake_created_body(b, "ICCT-002"));
  EXPECT_EQ(std::get<Refused>(second.at(2)).rule, Refusal::kDuplicateCaptainEmail);
  EXPECT_EQ(std::get<Committed>(second.at(3)).team_id, "ICCT-003");
  expect_gapless(3);
}

TEST_F(PgStoreTest, FastRestartDuringAStreamOfBatchesLosesAndDuplicatesNothing) {
  // Threads re-send a batch after a TransientError, as the committer does; the server restarts
  // in the middle. Only success or TransientError may be seen, and afterwards every registration
  // is stored exactly once with the ID its (final) answer named.
  std::vector<std::unique_ptr<PgStore>> stores;
  for (int i = 0; i < 2; ++i) stores.push_back(open(4));
  constexpr int kThreads = 6;
  constexpr int kBatches = 30;
  std::atomic<int> batches_done{0};
  std::atomic<int> transient{0};
  // Each thread goes on past kBatches until the restart interrupted some batch, so that on a busy
  // machine the stream cannot end before the restart lands (capped, so the test always ends).
  std::atomic<bool> restarted{false};
  constexpr int kMaxBatches = 2000;
  std::mutex mutex;
  std::map<std::string, std::string> answered;  // request_uuid -> team_id
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PgStore& store = *stores[static_cast<std::size_t>(t % 2)];
      for (int b = 0; b < kMaxBatches && (b < kBatches || !(restarted && transient > 0)); ++b) {
        std::vector<Registration> batch;
        for (int i = 0; i < 3; ++i) batch.push_back(sample(fmt::format("t{}b{}r{}", t, b, i)));
        for (int attempt = 1;; ++attempt) {
          try {
            const auto outcomes = store.commit_batch(batch, kRules);
            const std::lock_guard lock(mutex);
            for (std::size_t i = 0; i < outcomes.size(); ++i) {
              if (const auto* c = std::get_if<Committed>(&outcomes[i])) {
                answered[batch[i].request_uuid] = c->team_id;
              } else {
                failures.push_back("a valid registration was refused");
              }
            }
            break;
          } catch (const TransientError&) {
            ++transient;
            if (attempt == 400) {
              const std::lock_guard lock(mutex);
              failures.push_back("still failing after 400 attempts");
              break;
            }
            std::this_thread::sleep_for(25ms);
          } catch (const std::exception& e) {
            const std::lock_guard lock(mutex);
            failures.push_back(e.what());
            break;
          }
        }
        ++batches_done;
      }
    });
  }
  while (batches_done < kThreads * kBatches / 3) std::this_thread::sleep_for(5ms);
  testing::PgServer::shared().restart_fast();
  restarted = true;
  for (auto& thread : threads) thread.join();

  ASSERT_TRUE(failures.empty()) << failures.front();
  EXPECT_GT(transient.load(), 0) << "the restart did not interrupt any batch";
  const std::int64_t total = std::int64_t{batches_done.load()} * 3;
  ASSERT_EQ(static_cast<std::int64_t>(answered.size()), total);
  expect_gapless(total);
  Connection db(dsn_);
  const Result rows = db.exec("raw", "SELECT request_uuid, team_id FROM teams");
  for (int i = 0; i < rows.rows(); ++i) {
    EXPECT_EQ(answered[rows.text(i, 0)], rows.text(i, 1));
  }
}

TEST_F(PgStoreTest, IdlePooledConnectionsAreReplacedAfterARestart) {
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(store_->ping());
  EXPECT_EQ(
      std::get<Committed>(store_->commit_batch(std::vector{sample("a")}, kRules).at(0)).number, 1);
  testing::PgServer::shared().restart_fast();
  // No caller sees the dead connections: they are checked when taken from the pool.
  EXPECT_EQ(store_->list_teams(10, 0).total, 1);
  EXPECT_EQ(
      std::get<Committed>(store_->commit_batch(std::vector{sample("b")}, kRules).at(0)).number, 2);
  EXPECT_TRUE(store_->ping());
}

TEST_F(PgStoreTest, AnExhaustedPoolAnswersTransientErrorAfterABoundedWaitAndCommitsGoOn) {
  auto small = open(/*pool_size=*/1, /*acquire_timeout=*/300ms);
  small->ping();
  // Another session locks a table only reads use, so a read holds the pool's only connection.
  Connection blocker(dsn_);
  Transaction tx(blocker);
  blocker.exec("raw", "LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE");
  auto stuck = std::async(std::launch::async, [&] { return small->schema_version(); });
  std::this_thread::sleep_for(200ms);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(small->find_idempotent("k"), TransientError);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 250ms);
  EXPECT_FALSE(small->ping());  // /ready reports it too
  // The committer has its own connection: a burst of reads never starves commits (issue 9).
  const auto outcomes = small->commit_batch(std::vector{sample("a")}, kRules);
  EXPECT_EQ(std::get<Committed>(outcomes.at(0)).number, 1);
  EXPECT_EQ(small->find_committed(sample("none").request_uuid), std::nullopt);
  tx.commit();
  EXPECT_GT(stuck.get(), 0);
  EXPECT_TRUE(small->ping());
}

TEST_F(PgStoreTest, ALostConnectionDuringTheBatchIsAnAmbiguousOutcome) {
  // The batch statement is running when its backend is terminated: it may or may not have
  // committed, and the store must say so (AmbiguousCommitError), not just "try again".
  auto store = open(2);
  Connection blocker(dsn_);
  Transaction tx(blocker);
  blocker.exec("raw", "SELECT 1 FROM id_sequences WHERE name = 'team' FOR UPDATE");
  const Registration a = sample("a");
  auto attempt =
      std::async(std::launch::async, [&] { return store->commit_batch(std::vector{a}, kRules); });
  // Wait for the batch to be waiting on the sequence lock, then end its backend.
  Connection admin(dsn_);
  for (int i = 0; i < 200; ++i) {
    if (admin
            .exec("raw",
                  "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                  "'%teamreg_register_batch%' AND wait_event_type = 'Lock'")
            .int64(0, 0) > 0) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  admin.exec("raw",
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
             "'%teamreg_register_batch%' AND wait_event_type = 'Lock'");
  EXPECT_THROW(attempt.get(), AmbiguousCommitError);
  tx.commit();
  // Here nothing committed, and the look-up says so; a re-send commits it once.
  EXPECT_FALSE(store->find_committed(a.request_uuid).has_value());
  EXPECT_EQ(std::get<Committed>(store->commit_batch(std::vector{a}, kRules).at(0)).number, 1);
  EXPECT_EQ(store->find_committed(a.request_uuid)->team_id, "ICCT-001");
  expect_gapless(1);
}

TEST_F(PgStoreTest, ErrorsNeverCarryThePasswordTheDsnOrSqlText) {
  const std::string secret = "Sup3rS3cretPw";
  const auto message_of = [](auto&& action) -> std::string {
    try {
      action();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no exception";
  };
  {
    PgStore unreachable(PgConfig{"postgresql://postgres:" + secret + "@127.0.0.1:1/x", 2, 1000ms});
    EXPECT_FALSE(unreachable.ping());
    const std::string message = message_of([&] { unreachable.migrate("team", kFormat); });
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
    EXPECT_THROW(unreachable.migrate("team", kFormat), TransientError);
  }
  {
    const auto port = testing::PgServer::shared().port();
    PgStore wrong_db(PgConfig{
        fmt::format("postgresql://postgres:{}@127.0.0.1:{}/no_such_db", secret, port), 2, 1000ms});
    const std::string message = message_of([&] { wrong_db.list_teams(1, 0); });
    EXPECT_NE(message.find("postgres connect failed"), std::string::npos) << message;
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
  }
  {
    const std::string message = message_of([&] {
      PgStore bad(PgConfig{"postgresql://postgres:" + secret + "%zz@127.0.0.1/x"});
      bad.list_teams(1, 0);
    });
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
    EXPECT_NE(message.find("invalid PostgreSQL connection string"), std::string::npos) << message;
  }
  {
    Connection db(dsn_);
    const std::string message = message_of([&] {
      db.exec("insert sequence", "INSERT INTO id_sequences VALUES ($1, 'ICCT', 3, 0)", {"team"});
    });
    EXPECT_NE(message.find("sqlstate=23505"), std::string::npos) << message;
    EXPECT_NE(message.find("constraint=id_sequences_pkey"), std::string::npos) << message;
    EXPECT_EQ(message.find("INSERT"), std::string::npos) << message;
    EXPECT_EQ(message.find("(team)"), std::string::npos) << message;  // no values from DETAIL
    EXPECT_THROW(
        db.exec("insert sequence", "INSERT INTO id_sequences VALUES ($1, 'ICCT', 3, 0)", {"team"}),
        PgError);
  }
}

TEST_F(PgStoreTest, ABareUrlIsCompletedFromTheLibpqEnvironment) {
  // `--database postgresql://` plus PGHOST/PGPORT/PGUSER/PGDATABASE, as operators set them.
  // No other thread runs here, so setenv is safe.
  const std::string port = std::to_string(testing::PgServer::shared().port());
  const std::string database = dsn_.substr(dsn_.rfind('/') + 1);
  struct Environment {
    Environment(const std::string& port, const std::string& database) {
      ::setenv("PGHOST", "127.0.0.1", 1);
      ::setenv("PGPORT", port.c_str(), 1);
      ::setenv("PGUSER", "postgres", 1);
      ::setenv("PGDATABASE", database.c_str(), 1);
    }
    ~Environment() {
      for (const char* name : {"PGHOST", "PGPORT", "PGUSER", "PGDATABASE"}) ::unsetenv(name);
    }
  };
  bool reachable = false;
  {
    const Environment environment(port, database);
    PgStore from_env(PgConfig{.dsn = "postgresql://"});
    reachable = from_env.ping();
    from_env.commit_batch(std::vector{sample("env")}, kRules);
  }
  EXPECT_TRUE(reachable);
  EXPECT_EQ(store_->sequence("team").last_number, 1);
}

TEST_F(PgStoreTest, ConnectionsUseReadCommittedWhateverTheDatabaseDefault) {
  const std::string database = dsn_.substr(dsn_.rfind('/') + 1);
  Connection(dsn_).exec("raw", fmt::format("ALTER DATABASE {} SET default_transaction_isolation = "
                                           "'repeatable read'",
                                           database));
  Connection db(dsn_);
  EXPECT_EQ(db.exec("raw", "SHOW transaction_isolation").text(0, 0), "read committed");
}

TEST_F(PgStoreTest, SqlstatesAreClassified) {
  EXPECT_TRUE(is_transient_sqlstate("40001"));
  EXPECT_TRUE(is_transient_sqlstate("40P01"));
  EXPECT_TRUE(is_transient_sqlstate("57P01"));
  EXPECT_TRUE(is_transient_sqlstate("57P02"));
  EXPECT_TRUE(is_transient_sqlstate("57P03"));
  EXPECT_TRUE(is_transient_sqlstate("08006"));
  EXPECT_TRUE(is_transient_sqlstate("53300"));
  EXPECT_FALSE(is_transient_sqlstate("23505"));
  EXPECT_FALSE(is_transient_sqlstate("42P01"));
  EXPECT_FALSE(is_transient_sqlstate(""));
  // A real one: the backend of a pooled connection is terminated (as by an administrator).
  Connection victim(dsn_);
  const std::int64_t pid = victim.exec("pid", "SELECT pg_backend_pid()").int64(0, 0);
  Connection(dsn_).exec("terminate", "SELECT pg_terminate_backend($1)", {pid});
  std::this_thread::sleep_for(50ms);
  EXPECT_THROW(victim.exec("after termination", "SELECT 1"), TransientError);
  EXPECT_TRUE(victim.broken());
}

/// Outcomes as text, for comparing two runs: "committed ICCT-001 1", "replayed 201 <body>",
/// or "error DUPLICATE_CAPTAIN_EMAIL".
std::vector<std::string> describe(const std::vector<CommitOutcome>& outcomes) {
  std::vector<std::string> out;
  for (const auto& outcome : outcomes) {
    if (const auto* c = std::get_if<Committed>(&outcome)) {
      out.push_back(fmt::format("committed {} {}", c->team_id, c->number));
    } else if (const auto* r = std::get_if<Replayed>(&outcome)) {
      out.push_back(fmt::format("replayed {} {}", r->status, r->body));
    } else {
      out.push_back(fmt::format("error {}", rule_name(std::get<Refused>(outcome).rule)));
    }
  }
  return out;
}

/// Everything a registration stores, timestamps aside, as one text per table.
std::vector<std::string> dump(const std::string& dsn) {
  Connection db(dsn);
  const char* queries[] = {
      "SELECT string_agg(concat_ws('|', team_id, sequence_name, number, request_uuid, team_name,"
      " team_key, church_name, church_key, captain_name, captain_phone, captain_email,"
      " captain_whatsapp, vice_name, vice_phone, vice_email, vice_whatsapp, status,"
      " created_at = updated_at), E'\n' ORDER BY number) FROM teams",
      "SELECT string_agg(concat_ws('|', player_id, team_id, position, name, role), E'\n'"
      " ORDER BY player_id) FROM players",
      "SELECT string_agg(concat_ws('|', team_id, field, storage_key, content_type, size_bytes),"
      " E'\n' ORDER BY team_id, field) FROM documents",
      "SELECT string_agg(concat_ws('|', key, fingerprint, status, body, team_id), E'\n'"
      " ORDER BY key) FROM idempotency_keys",
      "SELECT last_number FROM id_sequences"};
  std::vector<std::string> out;
  for (const char* sql : queries) out.push_back(db.exec("raw", sql).text(0, 0));
  return out;
}

TEST_F(PgStoreTest, CleanBatchesAreWrittenSetBasedAndAnyClashIsDecidedOneByOne) {
  const auto one_by_one_calls = count_one_by_one_calls();

  std::vector<Registration> clean;
  for (int i = 0; i < 5; ++i) clean.push_back(sample(fmt::format("clean{}", i)));
  clean[1].idempotency_key = "key-1";
  clean[1].idempotency_fingerprint = "fp-1";
  clean[3] = renamed(clean[3], "", clean[2].church_name);  // two of one church: within the limit
  auto outcomes = store_->commit_batch(clean, kRules);
  EXPECT_EQ(one_by_one_calls(), 0) << "a clean batch must not take the one-by-one path";
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto* committed = std::get_if<Committed>(&outcomes[i]);
    ASSERT_NE(committed, nullptr) << i;
    EXPECT_EQ(committed->number, static_cast<std::int64_t>(i) + 1);
  }
  expect_gapless(5);

  // Each kind of clash sends its batch one by one, where each registration is decided alone.
  struct Case {
    const char* what;
    std::vector<Registration> batch;
    std::vector<std::string> expected;  ///< "ok" or an error code per registration
  };
  auto twin_email = sample("x1");
  auto twin_email_b = sample("x2");
  twin_email_b.captain.email = twin_email.captain.email;
  auto stored_email = sample("x3");
  stored_email.captain.email = clean[0].captain.email;
  auto twin_key = sample("x4");
  twin_key.idempotency_key = "key-2";
  twin_key.idempotency_fingerprint = "fp-2";
  auto twin_key_b = twin_key;
  twin_key_b.request_uuid = random_uuid();
  auto stored_key = sample("x5");
  stored_key.idempotency_key = "key-1";
  stored_key.idempotency_fingerprint = "fp-1";
  auto full_church = renamed(sample("x6"), "", clean[2].church_name);
  auto twin_team = sample("x7");
  auto twin_team_b = renamed(sample("x8"), twin_team.team_name, "");
  twin_team_b.captain.phone = twin_team.captain.phone;
  auto church_pair = sample("x9");
  auto church_pair_b = sample("x10");
  auto church_pair_c = sample("x11");
  church_pair_b = renamed(church_pair_b, "", church_pair.church_name);
  church_pair_c = renamed(church_pair_c, "", church_pair.church_name);
  const std::vector<Case> cases{
      {"two in the batch share an e-mail",
       {twin_email, twin_email_b},
       {"ok", "DUPLICATE_CAPTAIN_EMAIL"}},
      {"an e-mail already stored", {sample("y1"), stored_email}, {"ok", "DUPLICATE_CAPTAIN_EMAIL"}},
      {"two in the batch share a key", {twin_key, twin_key_b}, {"ok", "replayed"}},
      {"a key already stored", {stored_key}, {"replayed"}},
      {"a church already full", {full_church}, {"CHURCH_LIMIT_REACHED"}},
      {"two in the batch share a team", {twin_team, twin_team_b}, {"ok", "DUPLICATE_TEAM"}},
      {"the batch fills a church past its limit",
       {church_pair, church_pair_b, church_pair_c},
       {"ok", "ok", "CHURCH_LIMIT_REACHED"}},
      {"a request already committed", {clean[4]}, {"ok"}},
  };
  std::int64_t calls = 0;
  int padding = 0;
  for (auto c : cases) {
    SCOPED_TRACE(c.what);
    // Batches under four always go one by one: pad each case so only the clash can send it there.
    while (c.batch.size() < 4) {
      c.batch.push_back(sample(fmt::format("pad{}", ++padding)));
      c.expected.emplace_back("ok");
    }
    const auto got = store_->commit_batch(c.batch, kRules);
    EXPECT_EQ(one_by_one_calls(), ++calls);
    ASSERT_EQ(got.size(), c.expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (c.expected[i] == "ok") {
        EXPECT_TRUE(std::holds_alternative<Committed>(got[i])) << describe(got)[i];
      } else if (c.expected[i] == "replayed") {
        EXPECT_TRUE(std::holds_alternative<Replayed>(got[i])) << describe(got)[i];
      } else {
        EXPECT_EQ(describe(got)[i], "error " + c.expected[i]);
      }
    }
  }
  // The resent request got its old team back; everything else committed got the next numbers.
  expect_gapless(11 + padding);

  // A small batch goes one by one even when clean.
  const auto small =
      store_->commit_batch(std::vector{sample("s1"), sample("s2"), sample("s3")}, kRules);
  EXPECT_EQ(one_by_one_calls(), ++calls);
  EXPECT_EQ(describe(small).size(), 3U);
  expect_gapless(14 + padding);
}

TEST_F(PgStoreTest, TheSetBasedPathHealsItselfAndTheOneByOnePathHealsEachRegistration) {
  Connection db(dsn_);
  const auto one_by_one_calls = count_one_by_one_calls();
  const auto batch_of = [](int n, const std::string& tag) {
    std::vector<Registration> batch;
    for (int i = 0; i < n; ++i) batch.push_back(sample(fmt::format("{}{}", tag, i)));
    return batch;
  };
  ASSERT_EQ(store_->commit_batch(batch_of(5, "first"), kRules).size(), 5U);
  ASSERT_EQ(one_by_one_calls(), 0);

  db.exec("raw", "UPDATE id_sequences SET last_number = 1");
  auto outcomes = store_->commit_batch(batch_of(5, "set"), kRules);
  EXPECT_EQ(one_by_one_calls(), 0) << "the set-based path heals without falling back";
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    EXPECT_EQ(std::get<Committed>(outcomes[i]).number, static_cast<std::int64_t>(i) + 6);
  }
  expect_gapless(10);

  db.exec("raw", "UPDATE id_sequences SET last_number = 3");
  outcomes = store_->commit_batch(batch_of(2, "one"), kRules);
  EXPECT_EQ(one_by_one_calls(), 1);
  EXPECT_EQ(std::get<Committed>(outcomes.at(0)).team_id, "ICCT-011");
  EXPECT_EQ(std::get<Committed>(outcomes.at(1)).team_id, "ICCT-012");
  expect_gapless(12);
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM audit_log WHERE action = 'sequence.heal'"), 2);
}

TEST_F(PgStoreTest, SetBasedAndOneByOnePathsAnswerAndStoreTheSame) {
  // A second database where every batch goes one by one.
  const std::string other_dsn = testing::PgServer::shared().create_database();
  auto other = std::make_unique<PgStore>(PgConfig{other_dsn, 2, 5000ms});
  other->migrate("team", ids::SequenceFormat{"ICCT", 1});
  store_ = open();
  Connection(dsn_).exec("raw", "UPDATE id_sequences SET min_width = 1");
  Connection(other_dsn).exec(
      "raw",
      "CREATE OR REPLACE FUNCTION teamreg_batch_is_clean(p_teams_per_church integer,"
      " p_batch jsonb) RETURNS boolean"
      " LANGUAGE sql AS 'SELECT false'");

  std::vector<std::vector<Registration>> batches;
  for (int b = 0; b < 3; ++b) {
    std::vector<Registration> batch;
    for (int i = 0; i < 5; ++i) {
      auto r = sample(fmt::format("b{}r{}", b, i));
      r = renamed(r, r.team_name + " \"quoted\" \\ ünïcode", "");
      r.captain.whatsapp = i % 2 == 0 ? "" : "9123456780";
      if (i == 2) {
        r.idempotency_key = fmt::format("k{}", b);
        r.idempotency_fingerprint = "fp";
      }
      r.players.resize(static_cast<std::size_t>(11 + i));  // 11..15 players: P10 and beyond
      for (std::size_t p = 12; p < r.players.size(); ++p) r.players[p] = Player{"Extra", ""};
      r.documents.push_back(StagedDocument{"group_photo", "key-" + random_uuid(), "image/png", 7});
      batch.push_back(std::move(r));
    }
    batches.push_back(std::move(batch));
  }
  for (const auto& batch : batches) {
    EXPECT_EQ(describe(store_->commit_batch(batch, kRules)),
              describe(other->commit_batch(batch, kRules)));
  }
  EXPECT_EQ(dump(dsn_), dump(other_dsn));
  expect_gapless(15);
}

TEST_F(PgStoreTest, AProcessOfThePreviousReleaseStillCommitsDuringARollingUpgrade) {
  // Before 0004 the JSON had no created_status, and "body" was read from committed outcomes.
  const std::string batch =
      R"([{"request_uuid":"u1","team_name":"Old","team_key":"old","church_name":"C",)"
      R"("church_key":"c","captain_name":"Cap","captain_phone":"9000000000",)"
      R"("captain_email":"old@example.com","captain_whatsapp":"","vice_name":"V",)"
      R"("vice_phone":"9000000001","vice_email":"v@example.com","vice_whatsapp":"",)"
      R"("players":[],"documents":[],"body_head":"{\"team_id\":","body_tail":"}",)"
      R"("idempotency_key":"old-key","fingerprint":"fp","errors":{}}])";
  Connection db(dsn_);
  const Result result =
      db.exec("raw", "SELECT teamreg_register_batch('team', 2, $1::jsonb)::text", {batch});
  const auto outcomes = boost::json::parse(result.view(0, 0));
  EXPECT_EQ(outcomes.at(0).at("body").as_string(), R"({"team_id":"ICCT-001"})");
  const auto stored = store_->find_idempotent("old-key");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->status, 201U);
  EXPECT_EQ(stored->body, R"({"team_id":"ICCT-001"})");
}

TEST_F(PgStoreTest, TheBatchIsOneStatementInAutocommit) {
  // One round trip: the function sees the whole batch and returns every outcome at once, in an
  // implicit transaction (no BEGIN was sent, so nothing stays open after it).
  Connection db(dsn_);
  const Result result =
      db.exec("raw", "SELECT teamreg_register_batch('team', 2, '[]'::jsonb)::text");
  EXPECT_EQ(result.text(0, 0), "[]");
  EXPECT_TRUE(db.idle());
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM pg_proc WHERE proname = 'teamreg_register_batch'"), 1);
  // A missing sequence row is an error for the whole batch, not a silent success.
  EXPECT_THROW(store_->commit_batch(std::vector{sample("a")}, CommitRules{"nope", 2, false}),
               PgError);
  expect_gapless(0);
}

}  // namespace
}  // namespace teamreg::storage::postgres
