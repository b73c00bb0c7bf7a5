// Accounts and cookie sessions (issue 11) on SQLite and PostgreSQL: one behaviour, two databases.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "admin/accounts.hpp"
#include "admin/auth.hpp"
#include "admin/cli.hpp"
#include "admin/passwords.hpp"
#include "admin/service.hpp"
#include "ids/team_id.hpp"
#include "testing/admin_backends.hpp"

namespace teamreg::admin {
namespace {

constexpr std::string_view kPassword = "correct horse battery";

class AccountsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      backend_ = std::make_unique<testing::SqliteBackend>();
    } else {
      backend_ = std::make_unique<testing::PgBackend>();
    }
    store_ = backend_->open_store();
    store_->migrate("team", ids::SequenceFormat{});
    admin_store_ = backend_->open_admin_store();
    outbox_ = backend_->open_outbox_store();
    service_ = std::make_unique<AdminService>(*store_, *admin_store_, *outbox_,
                                              AdminConfig{"team", 2, false, {}});
    accounts_ = accounts_with(std::chrono::hours(8));
  }

  void TearDown() override {
    accounts_.reset();
    service_.reset();
    outbox_.reset();
    admin_store_.reset();
    store_.reset();
    backend_.reset();
  }

  std::unique_ptr<AccountService> accounts_with(std::chrono::seconds idle_timeout) {
    return std::make_unique<AccountService>(*admin_store_, hasher_, AccountConfig{idle_timeout});
  }

  void create(std::string_view name, std::string_view role = kRoleAdmin) {
    const auto created = accounts_->create_user(name, role, kPassword, kCliActor);
    ASSERT_TRUE(created) << created.error().message;
  }

  std::string login(std::string_view name, std::string_view password = kPassword) {
    auto session = accounts_->login(name, password);
    EXPECT_TRUE(session) << "login failed: " << login_failure_name(session.error());
    return session ? session->id : std::string();
  }

  std::vector<storage::AuditEntry> audit(std::string_view action) {
    std::vector<storage::AuditEntry> out;
    for (auto& e : service_->audit(1000, 0).entries) {
      if (e.action == action) out.push_back(std::move(e));
    }
    return out;
  }

  std::unique_ptr<testing::Backend> backend_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::AdminStore> admin_store_;
  std::unique_ptr<storage::OutboxStore> outbox_;
  std::unique_ptr<AdminService> service_;
  PasswordHasher hasher_;
  std::unique_ptr<AccountService> accounts_;
};

TEST_P(AccountsTest, UsersAreCreatedListedWithoutHashesAndAudited) {
  create("alice");
  create("bob", kRoleViewer);
  const auto users = accounts_->list_users();
  ASSERT_EQ(users.size(), 2U);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[0].role, "admin");
  EXPECT_EQ(users[1].name, "bob");
  EXPECT_EQ(users[1].role, "viewer");
  EXPECT_FALSE(users[0].disabled_at);
  EXPECT_FALSE(users[0].last_seen_at);
  EXPECT_EQ(users[0].password_changed_at, users[0].created_at);
  EXPECT_TRUE(accounts_->has_active_users());

  const auto stored = admin_store_->find_credentials("alice");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->password_hash.starts_with("$argon2id$v=19$m=65536,t=2,p=1$"));
  EXPECT_EQ(stored->password_hash.find(kPassword), std::string::npos);
  EXPECT_FALSE(stored->disabled);

  const auto created = audit("user.create");
  ASSERT_EQ(created.size(), 2U);
  EXPECT_EQ(created[0].subject, "bob");  // newest first
  EXPECT_EQ(created[0].actor, "cli");
  EXPECT_EQ(created[0].to_value, "viewer");
}

TEST_P(AccountsTest, PasswordAndNameRulesAreEnforced) {
  const auto refused = [&](std::string_view name, std::string_view role, std::string_view password,
                           std::string_view field) {
    const auto result = accounts_->create_user(name, role, password, kCliActor);
    ASSERT_FALSE(result) << name;
    EXPECT_EQ(result.error().code, ErrorCode::kValidationFailed);
    EXPECT_EQ(result.error().field, field) << result.error().message;
  };
  refused("carol", "admin", "eleven char", "password");
  refused("carol", "admin", "ääääääääääá", "password");  // 11 characters in 22 bytes
  refused("carol", "admin", std::string(1025, 'x'), "password");
  refused("carol", "admin", "caf\xE9 latin-1 bytes", "password");
  refused("carol", "root", kPassword, "role");
  refused("", "admin", kPassword, "name");
  refused("with space", "admin", kPassword, "name");
  refused(std::string(65, 'a'), "admin", kPassword, "name");
  for (const char* reserved : {"env", "cli", "system", "system:startup", "systemd"}) {
    refused(reserved, "admin", kPassword, "name");
  }
  EXPECT_TRUE(accounts_->list_users().empty());
  EXPECT_TRUE(audit("user.create").empty());
  EXPECT_TRUE(accounts_->create_user("carol", "admin", "ääääääääääää", kCliActor));
  EXPECT_TRUE(accounts_->create_user("dave", "admin", std::string(1024, 'x'), kCliActor));
  EXPECT_TRUE(accounts_->login("carol", "ääääääääääää"));
}

TEST_P(AccountsTest, AUserAndATokenNeverShareANameAndNamesAreNeverReused) {
  ASSERT_TRUE(service_->create_token("ops", kCliActor));
  const auto user_as_token = accounts_->create_user("ops", "admin", kPassword, kCliActor);
  ASSERT_FALSE(user_as_token);
  EXPECT_EQ(user_as_token.error().field, "name");
  EXPECT_NE(user_as_token.error().message.find("token"), std::string::npos);

  // A revoked token's name stays taken too.
  ASSERT_TRUE(service_->create_token("old-bot", kCliActor));
  ASSERT_TRUE(service_->revoke_token("old-bot", kCliActor));
  EXPECT_FALSE(accounts_->create_user("old-bot", "admin", kPassword, kCliActor));

  create("alice");
  const auto token_as_user = service_->create_token("alice", kCliActor);
  ASSERT_FALSE(token_as_user);
  EXPECT_EQ(token_as_user.error().field, "name");
  EXPECT_NE(token_as_user.error().message.find("user"), std::string::npos);

  const auto again = accounts_->create_user("alice", "viewer", kPassword, kCliActor);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().field, "name");
  ASSERT_TRUE(accounts_->disable_user("alice", kCliActor));
  EXPECT_FALSE(accounts_->create_user("alice", "admin", kPassword, kCliActor));
  EXPECT_FALSE(service_->create_token("alice", kCliActor));
  EXPECT_EQ(audit("user.create").size(), 1U);
  EXPECT_EQ(admin_store_->active_tokens().size(), 1U);
}

TEST_P(AccountsTest, ATokenAndAUserCreatedAtOnceUnderOneNameCannotBothExist) {
  // Each name is raced by a token creation and a user creation on separate connections, started
  // together: the UNIQUE constraints cover one table each, so only the shared lock (PostgreSQL)
  // or the write lock (SQLite) keeps the names apart.
  constexpr int kNames = 40;
  const std::string hash = *hasher_.hash(kPassword);
  auto token_store = backend_->open_admin_store();
  auto user_store = backend_->open_admin_store();
  std::atomic<int> tokens{0};
  std::atomic<int> users{0};
  std::barrier start_together(2);
  std::thread token_thread([&] {
    for (int i = 0; i < kNames; ++i) {
      const std::string name = fmt::format("name-{}", i);
      const std::string secret = token_hash(generate_token());
      start_together.arrive_and_wait();
      if (token_store->create_token(name, secret, kCliActor)) ++tokens;
    }
  });
  std::thread user_thread([&] {
    for (int i = 0; i < kNames; ++i) {
      const storage::NewUser user{fmt::format("name-{}", i), "admin", hash};
      start_together.arrive_and_wait();
      if (user_store->create_user(user, kCliActor)) ++users;
    }
  });
  token_thread.join();
  user_thread.join();
  EXPECT_EQ(tokens.load() + users.load(), kNames);
  const auto token_list = admin_store_->list_tokens();
  const auto user_list = admin_store_->list_users();
  for (const auto& user : user_list) {
    EXPECT_TRUE(std::none_of(token_list.begin(), token_list.end(),
                             [&](const auto& t) { return t.name == user.name; }))
        << user.name << " is both a user and a token";
  }
}

TEST_P(AccountsTest, ALoginStartsASessionOfWhichOnlyAHashIsStored) {
  create("alice");
  create("vera", kRoleViewer);
  const auto session = accounts_->login("alice", kPassword);
  ASSERT_TRUE(session);
  EXPECT_TRUE(valid_session_id(session->id)) << session->id;
  EXPECT_EQ(session->user.name, "alice");
  EXPECT_EQ(session->user.role, "admin");
  const auto user = accounts_->session(session->id);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->name, "alice");
  EXPECT_TRUE(user->may_change());
  // The store knows the session by the SHA-256 of its id only.
  EXPECT_TRUE(admin_store_->find_session(token_hash(session->id), std::chrono::hours(1)));
  EXPECT_FALSE(admin_store_->find_session(session->id, std::chrono::hours(1)));

  const auto viewer = accounts_->session(login("vera"));
  ASSERT_TRUE(viewer);
  EXPECT_EQ(viewer->role, "viewer");
  EXPECT_FALSE(viewer->may_change());
  EXPECT_NE(login("alice"), session->id) << "every login gets a new id";

  EXPECT_FALSE(accounts_->session(std::string(64, '0')));
  EXPECT_FALSE(accounts_->session("not-a-session-id"));
  EXPECT_FALSE(accounts_->session(""));
  EXPECT_TRUE(accounts_->list_users()[0].last_seen_at);
}

TEST_P(AccountsTest, EveryKindOfWrongLoginFailsAndStartsNoSession) {
  create("alice");
  EXPECT_EQ(accounts_->login("alice", "correct horse batterY").error(),
            LoginFailure::kWrongPassword);
  EXPECT_EQ(accounts_->login("nobody", kPassword).error(), LoginFailure::kUnknownUser);
  EXPECT_EQ(accounts_->login("Alice", kPassword).error(), LoginFailure::kUnknownUser);
  EXPECT_EQ(accounts_->login("", kPassword).error(), LoginFailure::kMalformed);
  EXPECT_EQ(accounts_->login("alice", "").error(), LoginFailure::kMalformed);
  EXPECT_EQ(accounts_->login("alice", std::string(1025, 'x')).error(), LoginFailure::kMalformed);
  EXPECT_EQ(accounts_->login("bad name", kPassword).error(), LoginFailure::kMalformed);
  EXPECT_FALSE(accounts_->list_users()[0].last_seen_at) << "no session was started";
}

TEST_P(AccountsTest, LogoutEndsOnlyThatSession) {
  create("alice");
  const std::string first = login("alice");
  const std::string second = login("alice");
  const auto ended = accounts_->logout(first);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->name, "alice");
  EXPECT_FALSE(accounts_->session(first));
  EXPECT_FALSE(accounts_->logout(first)) << "already ended";
  EXPECT_TRUE(accounts_->session(second));
}

TEST_P(AccountsTest, DisablingAUserEndsItsSessionsAndItsLogins) {
  create("alice");
  create("bob");
  const std::string a1 = login("alice");
  const std::string a2 = login("alice");
  const std::string b = login("bob");
  ASSERT_TRUE(accounts_->disable_user("alice", kCliActor));
  EXPECT_FALSE(accounts_->session(a1));
  EXPECT_FALSE(accounts_->session(a2));
  EXPECT_TRUE(accounts_->session(b));
  // The right password of a disabled user logs nobody in (and is checked all the same).
  EXPECT_EQ(accounts_->login("alice", kPassword).error(), LoginFailure::kDisabled);
  EXPECT_EQ(accounts_->login("alice", "wrong password!").error(), LoginFailure::kWrongPassword);

  const auto twice = accounts_->disable_user("alice", kCliActor);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(accounts_->disable_user("nobody", kCliActor).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(accounts_->set_password("alice", "another good one", kCliActor).error().code,
            ErrorCode::kNotFound);
  const auto users = accounts_->list_users();
  EXPECT_TRUE(users[0].disabled_at);
  EXPECT_FALSE(users[1].disabled_at);
  const auto disabled = audit("user.disable");
  ASSERT_EQ(disabled.size(), 1U);
  EXPECT_EQ(disabled[0].subject, "alice");
  EXPECT_EQ(disabled[0].actor, "cli");
}

TEST_P(AccountsTest, ANewPasswordEndsTheSessionsAndTheOldPassword) {
  create("alice");
  const std::string before = login("alice");
  const auto refused = accounts_->set_password("alice", "too short", kCliActor);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "password");
  EXPECT_TRUE(accounts_->session(before)) << "a refused change ends nothing";

  ASSERT_TRUE(accounts_->set_password("alice", "a brand new passphrase", kCliActor));
  EXPECT_FALSE(accounts_->session(before));
  EXPECT_EQ(accounts_->login("alice", kPassword).error(), LoginFailure::kWrongPassword);
  EXPECT_TRUE(accounts_->session(login("alice", "a brand new passphrase")));
  EXPECT_EQ(accounts_->set_password("nobody", "a brand new passphrase", kCliActor).error().code,
            ErrorCode::kNotFound);
  const auto changed = audit("user.password");
  ASSERT_EQ(changed.size(), 1U);
  EXPECT_EQ(changed[0].subject, "alice");
  EXPECT_EQ(changed[0].actor, "cli");
  const auto users = accounts_->list_users();
  EXPECT_GE(users[0].password_changed_at, users[0].created_at);
}

TEST_P(AccountsTest, ALoginCheckedAgainstAReplacedPasswordStartsNoSession) {
  // A login verifies (slowly) and then stores its session; a set-password or a disable in
  // between must win: the session is stored only while the verified hash is still the user's.
  create("alice");
  const std::string old_hash = admin_store_->find_credentials("alice")->password_hash;
  ASSERT_TRUE(accounts_->set_password("alice", "a brand new passphrase", kCliActor));
  EXPECT_FALSE(admin_store_->create_session(token_hash(generate_token()), "alice", old_hash));
  const std::string new_hash = admin_store_->find_credentials("alice")->password_hash;
  const std::string id = generate_token();
  EXPECT_TRUE(admin_store_->create_session(token_hash(id), "alice", new_hash));
  ASSERT_TRUE(accounts_->disable_user("alice", kCliActor));
  EXPECT_FALSE(admin_store_->create_session(token_hash(generate_token()), "alice", new_hash));
  EXPECT_FALSE(accounts_->session(id));
}

TEST_P(AccountsTest, AnIdleSessionEndsAndOneInUseLivesOn) {
  create("alice");
  auto short_lived = accounts_with(std::chrono::seconds(1));
  const auto idle = short_lived->login("alice", kPassword);
  ASSERT_TRUE(idle);
  EXPECT_TRUE(short_lived->session(idle->id));
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  EXPECT_FALSE(short_lived->session(idle->id)) << "idle for longer than the timeout";
  EXPECT_TRUE(accounts_->session(idle->id)) << "the row is untouched; the timeout decides";

  // Used every 0.6 s (more than the 0.5 s touch interval of a 2 s timeout), a session outlives
  // its timeout several times over.
  auto two_seconds = accounts_with(std::chrono::seconds(2));
  EXPECT_EQ(two_seconds->touch_interval(), std::chrono::milliseconds(500));
  EXPECT_EQ(accounts_->touch_interval(), std::chrono::seconds(60));
  const auto busy = two_seconds->login("alice", kPassword);
  ASSERT_TRUE(busy);
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(4500)) {
    ASSERT_TRUE(two_seconds->session(busy->id));
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
  }
}

TEST_P(AccountsTest, CliUserCommandsReadThePasswordFromStdinAndNeverPrintIt) {
  const auto run = [&](Command command, std::string input, std::string& out, std::string& err) {
    std::istringstream in(std::move(input));
    std::ostringstream o;
    std::ostringstream e;
    const int code = run_user_command(*accounts_, command, in, o, e);
    out = o.str();
    err = e.str();
    return code;
  };
  std::string out;
  std::string err;
  Command create_alice{Command::Kind::kUserCreate, "alice", "", "admin", false};
  EXPECT_EQ(run(create_alice, std::string(kPassword) + "\n", out, err), 0) << err;
  EXPECT_EQ(out, "Created admin user 'alice'\n");
  EXPECT_TRUE(accounts_->login("alice", kPassword)) << "the newline is not part of it";
  Command create_vera{Command::Kind::kUserCreate, "vera", "", "viewer", false};
  EXPECT_EQ(run(create_vera, std::string(kPassword) + "\r\n", out, err), 0) << err;
  EXPECT_TRUE(accounts_->login("vera", kPassword));

  Command create_bob{Command::Kind::kUserCreate, "bob", "", "admin", false};
  EXPECT_EQ(run(create_bob, "", out, err), 1);
  EXPECT_NE(err.find("No password on stdin"), std::string::npos) << err;
  EXPECT_EQ(run(create_bob, "short one\n", out, err), 1);
  EXPECT_NE(err.find("VALIDATION_FAILED"), std::string::npos) << err;
  EXPECT_EQ(err.find("short one"), std::string::npos) << "never echoed";
  EXPECT_EQ(out, "");
  EXPECT_EQ(run(create_bob, std::string(1100, 'x') + "\n", out, err), 1);
  EXPECT_EQ(run(create_alice, std::string(kPassword) + "\n", out, err), 1) << "name taken";

  Command list{Command::Kind::kUserList, "", "", "admin", false};
  EXPECT_EQ(run(list, "", out, err), 0);
  EXPECT_NE(out.find("alice"), std::string::npos);
  EXPECT_NE(out.find("viewer"), std::string::npos);
  EXPECT_EQ(out.find("argon2"), std::string::npos);
  EXPECT_EQ(out.find(kPassword), std::string::npos);

  Command new_password{Command::Kind::kUserSetPassword, "alice", "", "admin", false};
  EXPECT_EQ(run(new_password, "a brand new passphrase\n", out, err), 0) << err;
  EXPECT_TRUE(accounts_->login("alice", "a brand new passphrase"));
  Command disable{Command::Kind::kUserDisable, "alice", "", "admin", false};
  EXPECT_EQ(run(disable, "", out, err), 0) << err;
  EXPECT_EQ(run(disable, "", out, err), 1);
  EXPECT_NE(err.find("NOT_FOUND"), std::string::npos) << err;

  // Typed on a terminal: asked twice, and both must agree.
  Command prompted{Command::Kind::kUserCreate, "tess", "", "admin", true};
  EXPECT_EQ(run(prompted, "one passphrase here\nanother one here\n", out, err), 1);
  EXPECT_NE(err.find("differ"), std::string::npos) << err;
  EXPECT_EQ(run(prompted, "one passphrase here\none passphrase here\n", out, err), 0) << err;
  EXPECT_EQ(err.find("one passphrase"), std::string::npos) << err;

  const auto entries = service_->audit(1000, 0).entries;
  EXPECT_TRUE(
      std::all_of(entries.begin(), entries.end(), [](const auto& e) { return e.actor == "cli"; }));
  EXPECT_EQ(audit("user.create").size(), 3U);
  EXPECT_EQ(audit("user.password").size(), 1U);
  EXPECT_EQ(audit("user.disable").size(), 1U);
}

std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsTest, ::testing::Values("sqlite", "postgres"),
                         backend_name);

}  // namespace
}  // namespace teamreg::admin
