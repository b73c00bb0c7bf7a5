#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "admin/auth.hpp"
#include "admin/cli.hpp"
#include "admin/service.hpp"
#include "core/uuid.hpp"
#include "ids/team_id.hpp"
#include "notify/outbox_worker.hpp"
#include "registration/refusals.hpp"
#include "registration/validation.hpp"
#include "storage/postgres/pg_admin_store.hpp"
#include "storage/postgres/pg_outbox_store.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_admin_store.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_outbox_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "testing/admin_backends.hpp"

namespace teamreg::admin {
namespace {

using testing::Backend;
using testing::PgBackend;
using testing::SqliteBackend;

/// The CRLF-ended records of a CSV text (no field of these tests holds a line break).
std::vector<std::string> lines_of(std::string_view csv) {
  std::vector<std::string> lines;
  for (std::size_t pos = 0, end; (end = csv.find("\r\n", pos)) != std::string_view::npos;
       pos = end + 2) {
    lines.emplace_back(csv.substr(pos, end - pos));
  }
  return lines;
}

/// One behaviour, two databases: every test runs the AdminService over SQLite and PostgreSQL.
class AdminServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      backend_ = std::make_unique<SqliteBackend>();
    } else {
      backend_ = std::make_unique<PgBackend>();
    }
    store_ = backend_->open_store();
    store_->migrate("team", ids::SequenceFormat{});
    admin_store_ = backend_->open_admin_store();
    outbox_ = backend_->open_outbox_store();
    service_ = std::make_unique<AdminService>(*store_, *admin_store_, *outbox_,
                                              AdminConfig{"team", 2, false, {}});
  }

  void TearDown() override {
    service_.reset();
    outbox_.reset();
    admin_store_.reset();
    store_.reset();
    backend_.reset();
  }

  /// Commits one registration; returns its team ID, or the error code name.
  std::string register_team(const std::string& team_name, const std::string& email,
                            const std::string& church = "Church of Testing",
                            const std::string& phone = "9876543210", bool mail = false) {
    Registration r;
    r.request_uuid = random_uuid();
    r.request_id = "test";
    r.team_name = team_name;
    r.team_key = team_key(team_name);
    r.church_name = church;
    r.church_key = church_key(church);
    r.captain = Person{"Captain Test", phone, email, ""};
    r.vice = Person{"Vice Test", "9876543211", "vice." + email, ""};
    for (int i = 0; i < 11; ++i) r.players.push_back(Player{"Player Name", "Batsman"});
    auto outcomes = store_->commit_batch(std::span<const Registration>(&r, 1),
                                         storage::CommitRules{"team", 2, mail});
    if (auto* committed = std::get_if<storage::Committed>(&outcomes.at(0))) {
      return committed->team_id;
    }
    const auto& refused = std::get<storage::Refused>(outcomes.at(0));
    return std::string(error_code_name(refusal_error(refused.rule, 2).code));
  }

  void insert_team_by_hand(const std::string& team_id, std::int64_t number,
                           const std::string& sequence = "team") {
    backend_->exec(fmt::format(
        "INSERT INTO teams (team_id, sequence_name, number, request_uuid, team_name, team_key,"
        " church_name, church_key, captain_name, captain_phone, captain_email, vice_name,"
        " vice_phone, vice_email, created_at, updated_at) VALUES ('{0}', '{3}', {1}, '{2}',"
        " 'Hand {0}', 'hand {0}', 'Hand Church', 'hand church', 'Cap', '9000000000', '{0}@x.com',"
        " 'Vice', '9000000001', 'v@example.com', '2026-01-01T00:00:00.000Z',"
        " '2026-01-01T00:00:00.000Z')",
        team_id, number, random_uuid(), sequence));
  }

  /// The whole export, read `page_teams` teams at a time; `pieces` gets each piece.
  std::string export_csv(int page_teams, std::vector<std::string>* pieces = nullptr) {
    CsvExport csv(*admin_store_, page_teams);
    std::string out;
    int count = 0;
    for (std::string_view piece = csv.next(); !piece.empty(); piece = csv.next()) {
      out += piece;
      if (pieces) pieces->emplace_back(piece);
      if (++count > 100) {  // these tests export at most 8 teams
        ADD_FAILURE() << "the export does not end";
        break;
      }
    }
    return out;
  }

  std::int64_t audit_count(std::string_view action) {
    std::int64_t n = 0;
    for (const auto& e : service_->audit(1000, 0).entries) n += e.action == action ? 1 : 0;
    return n;
  }

  /// An AdminService over the same stores that queues mail with each confirm and reject.
  AdminService mailing_service() {
    return AdminService(*store_, *admin_store_, *outbox_,
                        AdminConfig{"team", 2, true, [this] { ++mail_wakeups_; }});
  }

  std::vector<storage::OutboxRow> outbox_rows(std::string_view status = "") {
    return outbox_->list(status, 1000, 0).rows;
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::AdminStore> admin_store_;
  std::unique_ptr<storage::OutboxStore> outbox_;
  std::unique_ptr<AdminService> service_;
  int mail_wakeups_ = 0;
};

TEST_P(AdminServiceTest, FreshSequenceShowsZeroAndNextOne) {
  const auto view = service_->sequence();
  EXPECT_EQ(view.current_number, 0);
  EXPECT_EQ(view.next_team_id, "ICCT-001");
  EXPECT_EQ(view.highest_issued, 0);
}

TEST_P(AdminServiceTest, ResetNegativeIsValidationError) {
  const auto reset = service_->reset_sequence(-1, "alice");
  ASSERT_FALSE(reset);
  EXPECT_EQ(reset.error().code, ErrorCode::kValidationFailed);
  EXPECT_EQ(reset.error().field, "new_number");
  EXPECT_EQ(audit_count("sequence.reset"), 0);
}

TEST_P(AdminServiceTest, ResetBelowHighestIssuedIsRefusedAndChangesNothing) {
  for (int i = 0; i < 3; ++i)
    register_team("Team " + std::string(1, char('A' + i)) + "xx",
                  "c" + std::to_string(i) + "@example.com",
                  "Church " + std::string(1, char('A' + i)) + "xx");
  const auto reset = service_->reset_sequence(2, "alice");
  ASSERT_FALSE(reset);
  EXPECT_EQ(reset.error().code, ErrorCode::kSequenceBelowIssued);
  EXPECT_EQ(http_status(reset.error().code), 409u);
  EXPECT_EQ(service_->sequence().current_number, 3);
  EXPECT_EQ(audit_count("sequence.reset"), 0);
}

TEST_P(AdminServiceTest, ResetUpwardsIsAuditedAndTheNextRegistrationGetsNPlusOne) {
  ASSERT_EQ(register_team("Team Alpha", "a@example.com"), "ICCT-001");
  const auto reset = service_->reset_sequence(10, "alice");
  ASSERT_TRUE(reset);
  EXPECT_TRUE(reset->changed);
  EXPECT_EQ(reset->previous_number, 1);
  EXPECT_EQ(reset->now.next_team_id, "ICCT-011");
  EXPECT_EQ(reset->skipped_numbers, 9);
  EXPECT_EQ(register_team("Team Beta", "b@example.com"), "ICCT-011");
  const auto audit = service_->audit(10, 0);
  ASSERT_FALSE(audit.entries.empty());
  const auto& entry = audit.entries.front();
  EXPECT_EQ(entry.action, "sequence.reset");
  EXPECT_EQ(entry.actor, "alice");
  EXPECT_EQ(entry.from_value, "1");
  EXPECT_EQ(entry.to_value, "10");
  ASSERT_TRUE(entry.detail);
  EXPECT_NE(entry.detail->find("2 to 10"), std::string::npos) << *entry.detail;
}

TEST_P(AdminServiceTest, AResetNeverInterleavesWithRegistrations) {
  constexpr int kPerThread = 12;
  constexpr std::int64_t kResetTo = 100;
  std::atomic<int> committed{0};
  std::vector<std::thread> writers;
  writers.reserve(2);
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string tag = fmt::format("{}x{}", static_cast<char>('a' + t), i);
        const std::string id = register_team("Team " + tag, tag + "@example.com", "Church " + tag,
                                             fmt::format("9{:09d}", t * 100 + i));
        EXPECT_TRUE(id.starts_with("ICCT-")) << id;
        ++committed;
      }
    });
  }
  while (committed.load() < 5) std::this_thread::yield();
  const auto reset = service_->reset_sequence(kResetTo, "alice");
  for (auto& w : writers) w.join();
  ASSERT_TRUE(reset) << reset.error().message;
  // Every number is either one of 1..k, issued before the reset, or one of 101..100+m, after it:
  // no registration saw a half-done reset and none was skipped or doubled.
  std::vector<std::int64_t> low;
  std::vector<std::int64_t> high;
  const auto page = store_->list_teams(1000, 0);
  for (const auto& team : page.teams) (team.number <= kResetTo ? low : high).push_back(team.number);
  std::sort(low.begin(), low.end());
  std::sort(high.begin(), high.end());
  ASSERT_EQ(low.size() + high.size(), 2u * kPerThread);
  for (std::size_t i = 0; i < low.size(); ++i) EXPECT_EQ(low[i], static_cast<std::int64_t>(i) + 1);
  for (std::size_t i = 0; i < high.size(); ++i) {
    EXPECT_EQ(high[i], kResetTo + static_cast<std::int64_t>(i) + 1);
  }
  EXPECT_EQ(reset->previous_number, static_cast<std::int64_t>(low.size()));
  EXPECT_EQ(service_->sequence().current_number, kResetTo + static_cast<std::int64_t>(high.size()));
}

TEST_P(AdminServiceTest, ResetToTheHighestIssuedClosesAGap) {
  register_team("Team Alpha", "a@example.com");
  ASSERT_TRUE(service_->reset_sequence(5, "alice"));
  const auto back = service_->reset_sequence(1, "alice");
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->changed);
  EXPECT_EQ(back->now.next_team_id, "ICCT-002");
  EXPECT_EQ(audit_count("sequence.reset"), 2);
}

TEST_P(AdminServiceTest, ResetToTheCurrentValueIsANoOpWithoutAudit) {
  const auto reset = service_->reset_sequence(0, "alice");
  ASSERT_TRUE(reset);
  EXPECT_FALSE(reset->changed);
  EXPECT_EQ(audit_count("sequence.reset"), 0);
}

TEST_P(AdminServiceTest, SyncRaisesToAHandInsertedTeamAndNeverLowers) {
  register_team("Team Alpha", "a@example.com");
  insert_team_by_hand("ICCT-007", 7);
  const auto raised = service_->sync_sequence("alice");
  EXPECT_TRUE(raised.changed);
  EXPECT_EQ(raised.previous_number, 1);
  EXPECT_EQ(raised.now.current_number, 7);
  EXPECT_EQ(raised.now.next_team_id, "ICCT-008");
  EXPECT_EQ(audit_count("sequence.sync"), 1);

  ASSERT_TRUE(service_->reset_sequence(20, "alice"));
  const auto again = service_->sync_sequence("alice");
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.now.current_number, 20);
  EXPECT_EQ(service_->sequence().current_number, 20);
  EXPECT_EQ(audit_count("sequence.sync"), 1);
}

TEST_P(AdminServiceTest, ConfirmTwiceWritesOneAuditEntry) {
  const std::string id = register_team("Team Alpha", "a@example.com");
  const auto first = service_->confirm(id, "alice");
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->from, "pending");
  const auto second = service_->confirm(id, "alice");
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->changed);
  EXPECT_EQ(audit_count("team.confirm"), 1);
}

TEST_P(AdminServiceTest, ConfirmUnknownTeamIsNotFound) {
  const auto result = service_->confirm("ICCT-999", "alice");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kTeamNotFound);
}

TEST_P(AdminServiceTest, RejectStoresTheReasonAndFreesTheEmail) {
  const std::string id = register_team("Team Alpha", "a@example.com");
  EXPECT_EQ(register_team("Team Other", "a@example.com", "Other Church"),
            "DUPLICATE_CAPTAIN_EMAIL");
  const auto rejected = service_->reject(id, "  forged letter  ", "alice");
  ASSERT_TRUE(rejected);
  EXPECT_TRUE(rejected->changed);
  EXPECT_EQ(rejected->reason, "forged letter");
  const auto again = service_->reject(id, "other", "alice");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(audit_count("team.reject"), 1);
  EXPECT_EQ(register_team("Team Other", "a@example.com", "Other Church"), "ICCT-002");
}

TEST_P(AdminServiceTest, ConfirmingARejectedTeamWhoseSlotWasTakenIsAConflict) {
  const std::string id = register_team("Team Alpha", "a@example.com");
  ASSERT_TRUE(service_->reject(id, "", "alice"));
  ASSERT_EQ(register_team("Team Other", "a@example.com", "Other Church"), "ICCT-002");
  const auto email = service_->confirm(id, "alice");
  ASSERT_FALSE(email);
  EXPECT_EQ(email.error().code, ErrorCode::kDuplicateCaptainEmail);

  const std::string named =
      register_team("Team Gamma", "g@example.com", "Third Church", "9111111111");
  ASSERT_TRUE(service_->reject(named, "", "alice"));
  ASSERT_EQ(register_team("Team Gamma", "g2@example.com", "Fourth Church", "9111111111"),
            "ICCT-004");
  const auto team = service_->confirm(named, "alice");
  ASSERT_FALSE(team);
  EXPECT_EQ(team.error().code, ErrorCode::kDuplicateTeam);
  EXPECT_EQ(audit_count("team.confirm"), 0);
}

TEST_P(AdminServiceTest, ConfirmingARejectedTeamBeyondTheChurchLimitIsAConflict) {
  const std::string id = register_team("Team One", "1@example.com", "Full Church", "9000000011");
  ASSERT_TRUE(service_->reject(id, "", "alice"));
  register_team("Team Two", "2@example.com", "Full Church", "9000000012");
  register_team("Team Three", "3@example.com", "Full Church", "9000000013");
  const auto result = service_->confirm(id, "alice");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kChurchLimitReached);
}

TEST_P(AdminServiceTest, ConfirmingARejectedTeamWithItsSlotsFreeSucceeds) {
  const std::string id = register_team("Team One", "1@example.com");
  ASSERT_TRUE(service_->reject(id, "", "alice"));
  const auto result = service_->confirm(id, "alice");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->from, "rejected");
  EXPECT_FALSE(result->reason);
}

TEST_P(AdminServiceTest, ListFiltersByStatusAndSearchesCaseInsensitively) {
  const std::string a = register_team("Team Alpha", "a@example.com", "Church Alpha");
  register_team("Team Beta", "b@example.com", "Church Beta");
  ASSERT_TRUE(service_->confirm(a, "alice"));
  auto confirmed = service_->list_teams(storage::AdminTeamQuery{"confirmed", "", 100, 0});
  ASSERT_TRUE(confirmed);
  ASSERT_EQ(confirmed->total, 1);
  EXPECT_EQ(confirmed->teams.at(0).summary.team_id, a);
  EXPECT_EQ(confirmed->teams.at(0).player_count, 11);
  auto found = service_->list_teams(storage::AdminTeamQuery{"", "BETA", 100, 0});
  ASSERT_TRUE(found);
  ASSERT_EQ(found->total, 1);
  EXPECT_EQ(found->teams.at(0).summary.team_name, "Team Beta");
  auto none = service_->list_teams(storage::AdminTeamQuery{"", "100%_", 100, 0});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->total, 0);
  auto all = service_->list_teams(storage::AdminTeamQuery{"", "", 100, 0});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->total, 2);
  EXPECT_EQ(all->teams.at(0).summary.team_id, "ICCT-002");  // newest first
  const auto bad = service_->list_teams(storage::AdminTeamQuery{"approved", "", 100, 0});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "status");
}

TEST_P(AdminServiceTest, PlayerDetailNamesItsTeam) {
  const std::string id = register_team("Team Alpha", "a@example.com");
  const auto player = service_->player(id + "-P03");
  ASSERT_TRUE(player);
  EXPECT_EQ(player->player.position, 3);
  EXPECT_EQ(player->team_id, id);
  EXPECT_EQ(player->team_name, "Team Alpha");
  EXPECT_FALSE(service_->player(id + "-P99"));
}

TEST_P(AdminServiceTest, ExportHasAHeaderAndOneRowPerPlayer) {
  register_team("Team Alpha", "a@example.com");
  insert_team_by_hand("ICCT-002", 2);  // no players: still one row
  auto csv = service_->export_csv();
  const std::string first(csv.next());
  EXPECT_EQ(csv.next(), "") << "two teams fit in the first page";
  EXPECT_EQ(lines_of(first).size(), 1u + 11u + 1u);
  EXPECT_TRUE(first.starts_with("team_id,team_name,"));
  EXPECT_EQ(first, export_csv(1));
}

TEST_P(AdminServiceTest, ExportIsTheSameFileWhateverThePageSize) {
  for (int i = 1; i <= 5; ++i) {
    const std::string tag(1, static_cast<char>('A' + i));
    ASSERT_EQ(register_team("Team " + tag, tag + "@example.com", "Church " + tag,
                            fmt::format("90000000{:02}", 20 + i)),
              fmt::format("ICCT-{:03}", i));
  }
  insert_team_by_hand("ICCT-009", 9);            // no players
  insert_team_by_hand("ABC-001", 1, "another");  // another sequence: sorts first
  insert_team_by_hand("ZZZ-001", 1, "zz");       // and last
  const std::string whole = export_csv(CsvExport::kPageTeams);
  const auto lines = lines_of(whole);
  ASSERT_EQ(lines.size(), 1u + 5u * 11u + 3u);
  EXPECT_TRUE(lines[1].starts_with("ABC-001,"));
  EXPECT_TRUE(lines[2].starts_with("ICCT-001,"));
  EXPECT_TRUE(lines[lines.size() - 2].starts_with("ICCT-009,"));
  EXPECT_TRUE(lines.back().starts_with("ZZZ-001,"));
  for (const int page_teams : {1, 2, 3, 7, 8}) {
    std::vector<std::string> pieces;
    EXPECT_EQ(export_csv(page_teams, &pieces), whole) << page_teams << " teams a page";
    EXPECT_EQ(pieces.size(), (8u + page_teams - 1) / page_teams) << page_teams << " teams a page";
    // A team's rows are never split between pieces.
    std::set<std::string> teams;
    for (const auto& piece : pieces) {
      std::set<std::string> in_piece;
      for (const auto& line : lines_of(piece)) {
        if (!line.starts_with("team_id,")) in_piece.insert(line.substr(0, line.find(',')));
      }
      for (const auto& team : in_piece) EXPECT_TRUE(teams.insert(team).second) << team;
    }
    EXPECT_EQ(teams.size(), 8u);
  }
}

TEST_P(AdminServiceTest, ExportIncludesOnceATeamCommittedBetweenItsPages) {
  ASSERT_EQ(register_team("Team One", "one@example.com", "Church One", "9000000031"), "ICCT-001");
  ASSERT_EQ(register_team("Team Two", "two@example.com", "Church Two", "9000000032"), "ICCT-002");
  CsvExport csv(*admin_store_, 1);
  std::string out(csv.next());
  ASSERT_EQ(register_team("Team Three", "three@example.com", "Church Three", "9000000033"),
            "ICCT-003");
  for (int i = 0; i < 10; ++i) out += csv.next();
  EXPECT_EQ(csv.next(), "");
  std::map<std::string, int> rows;
  for (const auto& line : lines_of(out)) ++rows[line.substr(0, line.find(','))];
  EXPECT_EQ(rows, (std::map<std::string, int>{
                      {"team_id", 1}, {"ICCT-001", 11}, {"ICCT-002", 11}, {"ICCT-003", 11}}));
}

TEST_P(AdminServiceTest, TokensAreCreatedOnceListedAndRevoked) {
  const auto token = service_->create_token("alice", kCliActor);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->size(), 64u);
  const auto again = service_->create_token("alice", kCliActor);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().field, "name");
  EXPECT_FALSE(service_->create_token("env", kCliActor));
  EXPECT_FALSE(service_->create_token("bad name", kCliActor));
  const auto active = admin_store_->active_tokens();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].token_hash, token_hash(*token));
  EXPECT_TRUE(service_->revoke_token("alice", kCliActor));
  EXPECT_FALSE(service_->revoke_token("alice", kCliActor));
  EXPECT_TRUE(admin_store_->active_tokens().empty());
  const auto listed = service_->list_tokens();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].revoked_at);
  EXPECT_EQ(audit_count("token.create"), 1);
  EXPECT_EQ(audit_count("token.revoke"), 1);
}

TEST_P(AdminServiceTest, CliRunsTheSameOperations) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_command(*service_, Command{Command::Kind::kSequenceReset, "", "-3"}, out, err), 1);
  EXPECT_NE(err.str().find("VALIDATION_FAILED"), std::string::npos);
  EXPECT_EQ(run_command(*service_, Command{Command::Kind::kSequenceReset, "", "4x"}, out, err), 1);
  EXPECT_EQ(run_command(*service_, Command{Command::Kind::kSequenceReset, "", "4"}, out, err), 0);
  EXPECT_NE(out.str().find("\"next_team_id\":\"ICCT-005\""), std::string::npos) << out.str();
  const auto audit = service_->audit(1, 0);
  ASSERT_EQ(audit.entries.size(), 1u);
  EXPECT_EQ(audit.entries[0].actor, "cli");

  std::ostringstream token_out;
  EXPECT_EQ(run_command(*service_, Command{Command::Kind::kTokenCreate, "ops", ""}, token_out, err),
            0);
  EXPECT_EQ(token_out.str().size(), 65u);  // the token and a newline, nothing else on stdout
}

std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

// --- the e-mail outbox (issue 10) ---------------------------------------------------------------

TEST_P(AdminServiceTest, EachCommittedRegistrationQueuesOneReceivedMailOnlyWhenMailIsOn) {
  const std::string quiet = register_team("Quiet Team", "quiet@example.com");
  ASSERT_EQ(quiet, "ICCT-001");
  EXPECT_TRUE(outbox_rows().empty()) << "mail is off: nothing may be queued";

  const std::string team =
      register_team("Mail Team", "mail@example.com", "Church of Mail", "9876500000", /*mail=*/true);
  ASSERT_EQ(team, "ICCT-002");
  const auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].kind, "received");
  EXPECT_EQ(rows[0].team_id, team);
  EXPECT_EQ(rows[0].recipient, "mail@example.com");
  EXPECT_EQ(rows[0].cc, "vice.mail@example.com");
  EXPECT_EQ(rows[0].status, "pending");
  EXPECT_EQ(rows[0].attempts, 0);
  EXPECT_TRUE(rows[0].next_attempt_at);

  // A refused registration (same captain e-mail) queues nothing.
  EXPECT_EQ(register_team("Other Team", "mail@example.com", "Church of Mail", "9876500001", true),
            "DUPLICATE_CAPTAIN_EMAIL");
  EXPECT_EQ(outbox_rows().size(), 1U);
}

TEST_P(AdminServiceTest, ConfirmAndRejectQueueTheirMailWithTheChangeAndNothingWithoutOne) {
  const std::string team = register_team("Status Team", "status@example.com");
  AdminService mailing = mailing_service();
  ASSERT_TRUE(mailing.confirm(team, "tester"));
  ASSERT_TRUE(mailing.confirm(team, "tester"));  // no change: no second mail
  ASSERT_TRUE(mailing.reject(team, "  Pastor letter unsigned  ", "tester"));
  auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].kind, "rejected");  // newest first
  EXPECT_EQ(rows[1].kind, "confirmed");
  EXPECT_EQ(mail_wakeups_, 2);
  ASSERT_TRUE(service_->confirm(team, "tester"));  // mail off for this service
  EXPECT_EQ(outbox_rows().size(), 2U);

  // The reason travels with the rejected mail's row.
  std::optional<storage::ClaimedMail> claimed;
  for (int i = 0; i < 2; ++i) {
    auto mail = outbox_->claim("c" + std::to_string(i), std::chrono::minutes(5));
    ASSERT_TRUE(mail);
    if (mail->kind == "rejected") claimed = mail;
  }
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->reason, "Pastor letter unsigned");

  // An un-reject that fails (the church is full again) rolls back with its mail.
  ASSERT_TRUE(mailing.reject(team, "", "tester"));
  register_team("Fill One", "fill1@example.com");
  register_team("Fill Two", "fill2@example.com");
  const auto before = outbox_rows().size();
  const auto refused = mailing.confirm(team, "tester");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kChurchLimitReached);
  EXPECT_EQ(outbox_rows().size(), before);
  const auto missing = mailing.confirm("ICCT-999", "tester");
  ASSERT_FALSE(missing);
  EXPECT_EQ(outbox_rows().size(), before);
}

TEST_P(AdminServiceTest, AClaimedMailIsNobodyElsesUntilItsLeaseRunsOut) {
  const std::string team = register_team("Lease Team", "lease@example.com");
  AdminService mailing = mailing_service();
  ASSERT_TRUE(mailing.confirm(team, "tester"));
  auto first = outbox_->claim("first", std::chrono::milliseconds(300));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->attempts, 1);
  EXPECT_EQ(first->recipient, "lease@example.com");
  EXPECT_FALSE(outbox_->claim("second", std::chrono::minutes(5))) << "leased to first";
  const auto due = outbox_->next_due();
  ASSERT_TRUE(due);
  EXPECT_GT(due->count(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto second = outbox_->claim("second", std::chrono::minutes(5));
  ASSERT_TRUE(second) << "the first worker died: its lease ran out";
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(second->attempts, 2);
  // The first worker's late report no longer counts; the second's does.
  outbox_->mark_failed(first->id, "first", std::nullopt, "stale");
  EXPECT_EQ(outbox_rows("pending").size(), 1U);
  outbox_->mark_sent(second->id);
  const auto sent = outbox_rows("sent");
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_TRUE(sent[0].sent_at);
  EXPECT_FALSE(sent[0].next_attempt_at);
  EXPECT_FALSE(outbox_->next_due());
}

TEST_P(AdminServiceTest, FailedMailsAreRetriedLaterOrDieAndADeadOneIsRequeuedAudited) {
  const std::string team = register_team("Retry Team", "retry@example.com");
  AdminService mailing = mailing_service();
  ASSERT_TRUE(mailing.confirm(team, "tester"));
  auto mail = outbox_->claim("w", std::chrono::minutes(5));
  ASSERT_TRUE(mail);
  outbox_->mark_failed(mail->id, "w", std::chrono::milliseconds(200), "451 try later");
  auto rows = outbox_rows("pending");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].last_error, "451 try later");
  EXPECT_FALSE(outbox_->claim("w", std::chrono::minutes(5))) << "not due yet";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  mail = outbox_->claim("w2", std::chrono::minutes(5));
  ASSERT_TRUE(mail);
  outbox_->mark_failed(mail->id, "w2", std::nullopt, "550 no such user");
  rows = outbox_rows("dead");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].attempts, 2);
  EXPECT_EQ(rows[0].last_error, "550 no such user");
  const auto stats = outbox_->stats();
  EXPECT_EQ(stats.dead, 1);
  EXPECT_EQ(stats.pending, 0);

  EXPECT_EQ(mailing.retry_mail(mail->id, "tester").value(), true);
  EXPECT_EQ(audit_count("outbox.retry"), 1);
  rows = outbox_rows("pending");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].attempts, 0);
  EXPECT_EQ(mailing.retry_mail(mail->id, "tester").value(), false) << "already pending";
  EXPECT_EQ(audit_count("outbox.retry"), 1);
  mail = outbox_->claim("w3", std::chrono::minutes(5));
  ASSERT_TRUE(mail) << "a requeued mail is due at once";
  outbox_->mark_sent(mail->id);
  EXPECT_EQ(mailing.retry_mail(mail->id, "tester").error().code, ErrorCode::kMailAlreadySent);
  EXPECT_EQ(mailing.retry_mail(mail->id + 100, "tester").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(mailing.outbox("bogus", 10, 0).error().field, "status");
  EXPECT_EQ(outbox_->stats().sent, 1);
}

TEST_P(AdminServiceTest, ConcurrentClaimsFromSeveralStoresTakeEachMailOnce) {
  constexpr int kMails = 40;
  for (int i = 0; i < kMails; ++i) {
    ASSERT_EQ(register_team(fmt::format("Race Team {}", i), fmt::format("race{}@example.com", i),
                            fmt::format("Church {}", i), fmt::format("98765{:05d}", i), true),
              ids::format_team_id(ids::SequenceFormat{}, i + 1));
  }
  constexpr int kWorkers = 4;
  std::vector<std::unique_ptr<storage::OutboxStore>> stores;
  for (int w = 0; w < kWorkers; ++w) stores.push_back(backend_->open_outbox_store());
  std::vector<std::vector<std::int64_t>> claimed(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      while (auto mail = stores[w]->claim("worker" + std::to_string(w), std::chrono::minutes(5))) {
        claimed[w].push_back(mail->id);
        stores[w]->mark_sent(mail->id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::int64_t> all;
  for (const auto& ids : claimed) all.insert(all.end(), ids.begin(), ids.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kMails));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a mail claimed twice";
  EXPECT_EQ(outbox_->stats().sent, kMails);
}

/// Records what the worker sends and answers as told.
class ScriptedSender final : public notify::MailSender {
 public:
  notify::SendResult send(const notify::MailMessage& message) override {
    sent.push_back(message);
    return next;
  }
  std::vector<notify::MailMessage> sent;
  notify::SendResult next;
};

TEST_P(AdminServiceTest, WorkerSendsTheTeamsMailRetriesTransientFailuresAndGivesUp) {
  const std::string team = register_team("Worker Team", "worker@example.com", "Church of Work",
                                         "9876543210", /*mail=*/true);
  ScriptedSender sender;
  const auto templates = notify::MailTemplates::builtin();
  notify::OutboxWorkerConfig config;
  config.from = notify::Mailbox{"ICCT26", "noreply@icct26.example.org"};
  config.max_attempts = 2;
  config.retry_base = std::chrono::milliseconds(1);
  int delivered = 0;
  int failed = 0;
  notify::OutboxWorker worker(*outbox_, *store_, sender, templates, config,
                              [&](bool ok) { ++(ok ? delivered : failed); });

  ASSERT_TRUE(worker.deliver_one());
  ASSERT_EQ(sender.sent.size(), 1U);
  const notify::MailMessage& mail = sender.sent[0];
  EXPECT_EQ(mail.to.address, "worker@example.com");
  EXPECT_EQ(mail.to.display_name, "Captain Test");
  ASSERT_EQ(mail.cc.size(), 1U);
  EXPECT_EQ(mail.cc[0].address, "vice.worker@example.com");
  EXPECT_EQ(mail.from.address, "noreply@icct26.example.org");
  const auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(mail.message_id, fmt::format("<teamreg.outbox.{}@icct26.example.org>", rows[0].id));
  EXPECT_NE(mail.subject.find(team), std::string::npos);
  EXPECT_NE(mail.text.find("Player Name"), std::string::npos);
  EXPECT_EQ(rows[0].status, "sent");
  EXPECT_FALSE(worker.deliver_one()) << "nothing else is due";

  // A transient failure is retried after the back-off; the last attempt makes the row dead.
  AdminService mailing = mailing_service();
  ASSERT_TRUE(mailing.confirm(team, "tester"));
  sender.next = notify::SendResult{notify::SendStatus::kTransient, "451 busy", 451};
  ASSERT_TRUE(worker.deliver_one());
  EXPECT_EQ(outbox_rows("pending").size(), 1U);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(worker.deliver_one());
  const auto dead = outbox_rows("dead");
  ASSERT_EQ(dead.size(), 1U);
  EXPECT_EQ(dead[0].attempts, 2);
  EXPECT_EQ(dead[0].last_error, "451 busy");

  // A server's 5xx is retried like any refusal; a mail that cannot be composed dies at once.
  ASSERT_TRUE(mailing.reject(team, "", "tester"));
  sender.next = notify::SendResult{notify::SendStatus::kPermanent, "550 no", 550};
  ASSERT_TRUE(worker.deliver_one());
  EXPECT_EQ(outbox_rows("pending").size(), 1U);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  sender.next = notify::SendResult{notify::SendStatus::kPermanent, "message not sent: bad", 0};
  ASSERT_TRUE(worker.deliver_one());
  const auto all_dead = outbox_rows("dead");
  ASSERT_EQ(all_dead.size(), 2U);
  EXPECT_EQ(all_dead[0].attempts, 2);
  ASSERT_TRUE(mailing.confirm(team, "tester"));
  ASSERT_TRUE(worker.deliver_one());
  EXPECT_EQ(outbox_rows("dead").size(), 3U);
  EXPECT_EQ(outbox_rows("dead")[0].attempts, 1) << "unsendable: dead at its first attempt";
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(failed, 5);
}

TEST(OutboxRetryDelay, DoublesFromTheBaseWithinAQuarterEitherWay) {
  using std::chrono::milliseconds;
  EXPECT_EQ(notify::retry_delay(1, milliseconds(1000), 0.5), milliseconds(1000));
  EXPECT_EQ(notify::retry_delay(2, milliseconds(1000), 0.5), milliseconds(2000));
  EXPECT_EQ(notify::retry_delay(4, milliseconds(1000), 0.0), milliseconds(6000));
  EXPECT_EQ(notify::retry_delay(4, milliseconds(1000), 1.0), milliseconds(10000));
  // The defaults: 10 attempts, 3 min base: about a day from the first attempt to the last.
  milliseconds total{0};
  for (int failed = 1; failed < 10; ++failed) {
    total += notify::retry_delay(failed, milliseconds(180'000), 0.5);
  }
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::minutes>(total).count(), 1533);
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminServiceTest, ::testing::Values("sqlite", "postgres"),
                         backend_name);

}  // namespace
}  // namespace teamreg::admin
