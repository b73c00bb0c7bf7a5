#include "admin/auth.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "core/uuid.hpp"
#include "storage/sqlite/sqlite_admin_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace teamreg::admin {
namespace {

TEST(TokenHash, IsLowerCaseHexSha256) {
  EXPECT_EQ(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(GenerateToken, Has256RandomBits) {
  const std::string a = generate_token();
  const std::string b = generate_token();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
}

TEST(TokenName, RulesAndReservedNames) {
  EXPECT_TRUE(valid_token_name("alice"));
  EXPECT_TRUE(valid_token_name("ci-bot_2.prod"));
  EXPECT_FALSE(valid_token_name(""));
  EXPECT_FALSE(valid_token_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_token_name("with space"));
  EXPECT_FALSE(valid_token_name("env"));
  EXPECT_FALSE(valid_token_name("cli"));
  EXPECT_FALSE(valid_token_name("system:startup"));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("teamreg-auth-test-" + random_hex(8));
    std::filesystem::create_directories(dir_);
    const std::string path = (dir_ / "teamreg.db").string();
    storage::sqlite::SqliteStore(path).migrate("team", ids::SequenceFormat{});
    store_ = std::make_unique<storage::sqlite::SqliteAdminStore>(path);
    token_ = generate_token();
    ASSERT_TRUE(store_->create_token("alice", token_hash(token_), "cli"));
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static http::Request with_auth(std::string value, std::string address = "192.0.2.1") {
    http::Request request;
    request.request_id = "req";
    request.client_address = std::move(address);
    if (!value.empty()) request.headers.emplace_back("authorization", std::move(value));
    return request;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::sqlite::SqliteAdminStore> store_;
  std::string token_;
};

TEST_F(AuthenticatorTest, ValidTokenGivesItsName) {
  Authenticator auth(*store_, AuthConfig{});
  const auto actor = auth.authenticate(with_auth("Bearer " + token_));
  ASSERT_TRUE(actor);
  EXPECT_EQ(*actor, "alice");
  EXPECT_TRUE(auth.authenticate(with_auth("bearer " + token_)));
  ASSERT_TRUE(store_->list_tokens().at(0).last_used_at);
}

TEST_F(AuthenticatorTest, MissingMalformedWrongAndRevokedAreUnauthorized) {
  Authenticator auth(*store_, AuthConfig{"", 0, std::chrono::seconds(60)});
  for (const std::string& header : {std::string(), std::string("Bearer"), std::string("Basic abc"),
                                    "Bearer " + token_ + "x", "Token " + token_}) {
    const auto actor = auth.authenticate(with_auth(header));
    ASSERT_FALSE(actor) << header;
    EXPECT_EQ(actor.error().code, ErrorCode::kUnauthorized) << header;
  }
  ASSERT_TRUE(store_->revoke_token("alice", "cli"));
  const auto revoked = auth.authenticate(with_auth("Bearer " + token_));
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, ErrorCode::kUnauthorized);
}

TEST_F(AuthenticatorTest, EnvironmentTokenIsNamedEnv) {
  const std::string env = generate_token();
  Authenticator auth(*store_, AuthConfig{env, 10, std::chrono::seconds(60)});
  const auto actor = auth.authenticate(with_auth("Bearer " + env));
  ASSERT_TRUE(actor);
  EXPECT_EQ(*actor, "env");
  EXPECT_TRUE(auth.has_tokens());
}

TEST_F(AuthenticatorTest, ShortEnvironmentTokenIsRefused) {
  EXPECT_THROW(Authenticator(*store_, AuthConfig{"secret", 10, std::chrono::seconds(60)}),
               std::invalid_argument);
}

TEST_F(AuthenticatorTest, FailuresOverTheLimitGet429ButAValidTokenStillPasses) {
  Authenticator auth(*store_, AuthConfig{"", 3, std::chrono::seconds(60)});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(auth.authenticate(with_auth("Bearer wrong")).error().code, ErrorCode::kUnauthorized);
  }
  for (int i = 0; i < 50; ++i) {
    const auto limited = auth.authenticate(with_auth(i % 2 == 0 ? "Bearer wrong" : ""));
    ASSERT_FALSE(limited);
    EXPECT_EQ(limited.error().code, ErrorCode::kRateLimited);
  }
  // The right token from the blocked address is accepted, in every spelling that is valid...
  const auto actor = auth.authenticate(with_auth("Bearer " + token_));
  ASSERT_TRUE(actor);
  EXPECT_EQ(*actor, "alice");
  EXPECT_TRUE(auth.authenticate(with_auth("bearer  " + token_)));
  // ...without lifting the block for wrong ones, which still get 429, never 401.
  EXPECT_EQ(auth.authenticate(with_auth("Bearer " + token_ + "x")).error().code,
            ErrorCode::kRateLimited);
  // Another address is not affected.
  EXPECT_EQ(auth.authenticate(with_auth("Bearer wrong", "192.0.2.2")).error().code,
            ErrorCode::kUnauthorized);
  EXPECT_TRUE(auth.authenticate(with_auth("Bearer " + token_, "192.0.2.2")));
}

TEST_F(AuthenticatorTest, EnvironmentTokenIsNotLockedOutEither) {
  const std::string env = generate_token();
  Authenticator auth(*store_, AuthConfig{env, 1, std::chrono::seconds(60)});
  EXPECT_EQ(auth.authenticate(with_auth("Bearer wrong")).error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(auth.authenticate(with_auth("Bearer wrong")).error().code, ErrorCode::kRateLimited);
  const auto actor = auth.authenticate(with_auth("Bearer " + env));
  ASSERT_TRUE(actor);
  EXPECT_EQ(*actor, "env");
}

TEST_F(AuthenticatorTest, SuccessesAreNotCountedAsFailures) {
  Authenticator auth(*store_, AuthConfig{"", 2, std::chrono::seconds(60)});
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(auth.authenticate(with_auth("Bearer " + token_)));
}

}  // namespace
}  // namespace teamreg::admin
