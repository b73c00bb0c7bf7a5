#include "admin/passwords.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace teamreg::admin {
namespace {

TEST(PasswordRules, CountCharactersNotBytesAndBoundBytes) {
  EXPECT_FALSE(password_problem("twelve chars"));  // exactly 12
  EXPECT_TRUE(password_problem("eleven char"));
  EXPECT_TRUE(password_problem(""));
  // Eleven characters in 22 bytes: still too short; twelve are enough.
  EXPECT_TRUE(password_problem("ääääääääääá"));
  EXPECT_FALSE(password_problem("ääääääääääää"));
  EXPECT_FALSE(password_problem(std::string(1024, 'x')));
  EXPECT_TRUE(password_problem(std::string(1025, 'x')));
  // 1024 bytes in 342 three-byte characters would be over: 1026 bytes.
  std::string wide;
  for (int i = 0; i < 342; ++i) wide += "\xE2\x82\xAC";  // €
  EXPECT_TRUE(password_problem(wide));
}

TEST(PasswordRules, RefuseWhatIsNotUtf8) {
  EXPECT_TRUE(password_problem("latin1 caf\xE9 password"));
  EXPECT_TRUE(password_problem("overlong \xC0\xAF slash here"));
  EXPECT_TRUE(password_problem("surrogate \xED\xA0\x80 half"));
  EXPECT_TRUE(password_problem("cut short at the end \xE2\x82"));
  EXPECT_FALSE(password_problem("emoji \xF0\x9F\x8F\x8F cricket!"));
}

TEST(PasswordHasher, HashesArgon2idAndVerifies) {
  PasswordHasher hasher;
  const auto hash = hasher.hash("correct horse battery");
  ASSERT_TRUE(hash);
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=65536,t=2,p=1$")) << *hash;
  EXPECT_NE(hash->find('$', 30), std::string::npos);
  EXPECT_EQ(hasher.verify(*hash, "correct horse battery"), PasswordHasher::Verdict::kMatch);
  EXPECT_EQ(hasher.verify(*hash, "correct horse batterY"), PasswordHasher::Verdict::kMismatch);
  EXPECT_EQ(hasher.verify("not a hash", "correct horse battery"),
            PasswordHasher::Verdict::kMismatch);
  EXPECT_NE(*hasher.hash("correct horse battery"), *hash) << "salted";
}

TEST(PasswordHasher, TheDummyHashCostsWhatARealOneDoes) {
  PasswordHasher hasher;
  const std::string dummy(dummy_password_hash());
  EXPECT_EQ(crypto_pwhash_str_needs_rehash(dummy.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                           crypto_pwhash_MEMLIMIT_INTERACTIVE),
            0);
  EXPECT_EQ(hasher.verify_dummy("anything at all"), PasswordHasher::Verdict::kMismatch);
  EXPECT_EQ(hasher.verify_dummy(""), PasswordHasher::Verdict::kMismatch);
}

TEST(PasswordHasher, RunsAtMostTheConfiguredNumberAtOnceAndRefusesBeyondTheQueue) {
  // One slot, nobody may wait: of several callers at once, some must be refused, and never
  // two hashes run together (each would need 64 MiB).
  PasswordHasher hasher(PasswordHashingConfig{1, 0, std::chrono::milliseconds(1)});
  const auto hash = hasher.hash("correct horse battery");
  ASSERT_TRUE(hash);
  std::atomic<int> busy{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 3; ++k) {
        const auto verdict = hasher.verify(*hash, "correct horse battery");
        (verdict == PasswordHasher::Verdict::kBusy ? busy : done)++;
        if (verdict != PasswordHasher::Verdict::kBusy) {
          EXPECT_EQ(verdict, PasswordHasher::Verdict::kMatch);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(busy.load(), 0);
  EXPECT_GT(done.load(), 0);

  // With room to wait, every caller gets its turn.
  PasswordHasher queued(PasswordHashingConfig{1, 8, std::chrono::seconds(60)});
  std::atomic<int> matched{0};
  threads.clear();
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      if (queued.verify(*hash, "correct horse battery") == PasswordHasher::Verdict::kMatch) {
        ++matched;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(matched.load(), 3);
}

}  // namespace
}  // namespace teamreg::admin
