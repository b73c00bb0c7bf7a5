#include "storage/sqlite/sqlite_store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>

#include "core/clock.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite/sqlite_outbox_store.hpp"
#include "storage/sqlite/sqlite_sequence.hpp"

namespace teamreg::storage::sqlite {
namespace {

constexpr std::chrono::hours kIdempotencyRetention{24};

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
constexpr std::string_view kSelectAppliedVersions = "SELECT version FROM schema_migrations";
constexpr std::string_view kInsertMigration =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";
constexpr std::string_view kInsertSequenceIfMissing =
    "INSERT INTO id_sequences (name, prefix, min_width, last_number) VALUES (?1, ?2, ?3, 0) "
    "ON CONFLICT (name) DO NOTHING";

constexpr std::string_view kSchemaVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kTables =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY "
    "name";
constexpr std::string_view kIndexList = "SELECT name, \"unique\" FROM pragma_index_list(?1)";
constexpr std::string_view kIndexColumns = "SELECT name FROM pragma_index_info(?1) ORDER BY seqno";
constexpr std::string_view kSelectByRequestUuid =
    "SELECT team_id, number FROM teams WHERE request_uuid = ?1";
// Whether an allocated number is already used: by its team ID, or by its number in the sequence.
constexpr std::string_view kNumberTaken =
    "SELECT 1 FROM teams WHERE team_id = ?1 OR (sequence_name = ?2 AND number = ?3)";
constexpr std::string_view kSelectIdempotency =
    "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = ?1 AND created_at > ?2";
constexpr std::string_view kInsertIdempotency =
    "INSERT INTO idempotency_keys (key, fingerprint, status, body, team_id, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,"
    " body = excluded.body, team_id = excluded.team_id, created_at = excluded.created_at";
constexpr std::string_view kDeleteOldIdempotency =
    "DELETE FROM idempotency_keys WHERE created_at <= ?1";

constexpr std::string_view kActiveEmailExists =
    "SELECT 1 FROM teams WHERE captain_email = ?1 AND status <> 'rejected'";
constexpr std::string_view kActiveTeamExists =
    "SELECT 1 FROM teams WHERE team_key = ?1 AND captain_phone = ?2 AND status <> 'rejected'";
constexpr std::string_view kActiveChurchCount =
    "SELECT COUNT(*) FROM teams WHERE church_key = ?1 AND status <> 'rejected'";
constexpr std::string_view kAllocateNumber =
    "UPDATE id_sequences SET last_number = last_number + 1 WHERE name = ?1 "
    "RETURNING prefix, min_width, last_number";
constexpr std::string_view kInsertTeam =
    "INSERT INTO teams (team_id, sequence_name, number, request_uuid, team_name, team_key,"
    " church_name, church_key, captain_name, captain_phone, captain_email, captain_whatsapp,"
    " vice_name, vice_phone, vice_email, vice_whatsapp, status, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 'pending',"
    " ?17, ?17)";
constexpr std::string_view kInsertPlayer =
    "INSERT INTO players (player_id, team_id, position, name, role) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr std::string_view kInsertDocument =
    "INSERT INTO documents (team_id, field, storage_key, content_type, size_bytes) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";

constexpr std::string_view kCountTeams = "SELECT COUNT(*) FROM teams";
constexpr std::string_view kListTeams =
    "SELECT team_id, number, team_name, church_name, captain_name, created_at, status "
    "FROM teams ORDER BY sequence_name, number LIMIT ?1 OFFSET ?2";
constexpr std::string_view kSelectTeam =
    "SELECT team_id, number, team_name, church_name, captain_name, created_at, status,"
    " captain_phone, captain_email, captain_whatsapp, vice_name, vice_phone, vice_email,"
    " vice_whatsapp FROM teams WHERE team_id = ?1";
constexpr std::string_view kSelectPlayers =
    "SELECT player_id, position, name, role FROM players WHERE team_id = ?1 ORDER BY position";
constexpr std::string_view kSelectDocuments =
    "SELECT field, storage_key, content_type, size_bytes FROM documents WHERE team_id = ?1 "
    "ORDER BY field";
// Grouped by the normalised key so "St. Paul" and "st.  paul" count as one church.
constexpr std::string_view kChurchCounts =
    "SELECT MIN(church_name), COUNT(*) FROM teams WHERE status <> 'rejected' "
    "GROUP BY church_key ORDER BY MIN(church_name)";
constexpr std::string_view kDocumentKeyExists = "SELECT 1 FROM documents WHERE storage_key = ?1";

/// Allocations that found the sequence behind the issued numbers never take longer than this
/// to find a free number: one raise is enough unless the rows contradict each other.
constexpr int kMaxSequenceHeals = 3;

std::string idempotency_cutoff() {
  return iso8601_utc(std::chrono::system_clock::now() - kIdempotencyRetention);
}

/// The answer stored on commit: the caller's opaque head and tail around the team ID, spliced
/// exactly as the PostgreSQL function does (head || to_jsonb(team_id)::text || tail).
std::string created_body(const IdempotentAnswers& answers, std::string_view team_id) {
  return answers.created_head + boost::json::serialize(boost::json::string(team_id)) +
         answers.created_tail;
}

}  // namespace

SqliteStore::SqliteStore(std::string path)
    : path_(std::move(path)), writer_(std::make_unique<Connection>(path_)), readers_(path_) {
  // Each registration of a batch runs in a savepoint, and SQLite keeps the pages a savepoint may
  // have to restore in a statement journal: a temporary *file* by default, written page by page
  // (~14 pwrite calls per registration on the committer thread). It is never needed after a crash
  // (the WAL is), so it lives in memory; it is emptied at every RELEASE, a few pages at most.
  writer_->exec("PRAGMA temp_store=MEMORY");
}

void SqliteStore::migrate(const std::string& sequence_name, const ids::SequenceFormat& format) {
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);
  writer_->exec(kCreateMigrationsTable);
  std::vector<std::int64_t> applied;
  {
    auto select = writer_->prepare(kSelectAppliedVersions);
    while (select.step()) applied.push_back(select.int64(0));
  }
  for (const Migration& migration : sqlite_migrations()) {
    if (std::find(applied.begin(), applied.end(), migration.version) != applied.end()) continue;
    writer_->exec(migration.sql);
    writer_->prepare(kInsertMigration)
        .bind(1, migration.version)
        .bind(2, migration.name)
        .bind(3, now_iso8601())
        .step();
    spdlog::info("migration applied dialect=sqlite version={} name={}", migration.version,
                 migration.name);
  }
  writer_->prepare(kInsertSequenceIfMissing)
      .bind(1, sequence_name)
      .bind(2, format.prefix)
      .bind(3, format.min_width)
      .step();
  tx.commit();
}

std::vector<CommitOutcome> SqliteStore::commit_batch(std::span<const Registration> batch,
                                                     const CommitRules& rules) {
  const std::lock_guard lock(writer_mutex_);
  std::vector<CommitOutcome> outcomes;
  outcomes.reserve(batch.size());
  std::vector<SequenceHeal> heals;
  Transaction tx(*writer_, /*immediate=*/true);
  for (const Registration& registration : batch) {
    // Each registration in its own savepoint: a failure rolls back only itself and its number.
    writer_->prepare("SAVEPOINT registration").step();
    CommitOutcome outcome = commit_one(registration, rules, heals);
    if (const auto* committed = std::get_if<Committed>(&outcome)) {
      if (rules.queue_mail) queue_mail(*writer_, kMailReceived, committed->team_id, {});
      writer_->prepare("RELEASE registration").step();
    } else {
      writer_->prepare("ROLLBACK TO registration").step();
      writer_->prepare("RELEASE registration").step();
      if (const auto* refusal = std::get_if<Refused>(&outcome);
          refusal != nullptr && !registration.idempotency_key.empty() &&
          refusal->rule != Refusal::kIdempotencyKeyReused) {
        const StoredAnswer& answer = registration.answers.for_refusal(refusal->rule);
        writer_->prepare(kInsertIdempotency)
            .bind(1, registration.idempotency_key)
            .bind(2, registration.idempotency_fingerprint)
            .bind(3, static_cast<std::int64_t>(answer.status))
            .bind(4, answer.body)
            .bind_null(5)
            .bind(6, now_iso8601())
            .step();
      }
    }
    outcomes.push_back(std::move(outcome));
  }
  try {
    tx.commit();
  } catch (const TransientError& e) {
    // The WAL frames may have reached the disk before the failure: the caller must look the
    // registrations up before it says that nothing was stored.
    throw AmbiguousCommitError(e.what());
  }
  for (const SequenceHeal& heal : heals) {
    spdlog::warn(
        "sequence behind the highest issued number, raised name={} last_number={} "
        "highest_issued={}",
        rules.sequence_name, heal.from, heal.to);
  }
  return outcomes;
}

CommitOutcome SqliteStore::commit_one(const Registration& r, const CommitRules& rules,
                                      std::vector<SequenceHeal>& heals) {
  Connection& db = *writer_;
  const std::string now = now_iso8601();
  {
    // A batch re-sent after a COMMIT that failed ambiguously: what committed stays committed.
    auto existing = db.prepare(kSelectByRequestUuid);
    if (existing.bind(1, r.request_uuid).step()) {
      return Committed{existing.int64(1), existing.text(0)};
    }
  }
  if (!r.idempotency_key.empty()) {
    auto select = db.prepare(kSelectIdempotency);
    select.bind(1, r.idempotency_key).bind(2, idempotency_cutoff());
    if (select.step()) {
      if (select.text(0) != r.idempotency_fingerprint) {
        return refused(Refusal::kIdempotencyKeyReused);
      }
      return Replayed{static_cast<unsigned>(select.int64(1)), select.text(2)};
    }
  }
  if (db.prepare(kActiveEmailExists).bind(1, r.captain.email).step()) {
    return refused(Refusal::kDuplicateCaptainEmail);
  }
  if (db.prepare(kActiveTeamExists).bind(1, r.team_key).bind(2, r.captain.phone).step()) {
    return refused(Refusal::kDuplicateTeam);
  }
  {
    auto count = db.prepare(kActiveChurchCount);
    count.bind(1, r.church_key).step();
    if (count.int64(0) >= rules.teams_per_church) return refused(Refusal::kChurchLimitReached);
  }
  std::int64_t number = 0;
  std::string team_id;
  for (int heal_count = 0;; ++heal_count) {
    auto allocate = db.prepare(kAllocateNumber);
    if (!allocate.bind(1, rules.sequence_name).step()) {
      throw std::runtime_error("sequence row missing: " + rules.sequence_name);
    }
    const ids::SequenceFormat format{allocate.text(0), static_cast<int>(allocate.int64(1))};
    number = allocate.int64(2);
    team_id = ids::format_team_id(format, number);

    auto team = db.prepare(kInsertTeam);
    team.bind(1, team_id).bind(2, rules.sequence_name).bind(3, number).bind(4, r.request_uuid);
    team.bind(5, r.team_name).bind(6, r.team_key).bind(7, r.church_name).bind(8, r.church_key);
    team.bind(9, r.captain.name).bind(10, r.captain.phone).bind(11, r.captain.email);
    team.bind(12, r.captain.whatsapp).bind(13, r.vice.name).bind(14, r.vice.phone);
    team.bind(15, r.vice.email).bind(16, r.vice.whatsapp).bind(17, now);
    team.step();
    if (!team.constraint_failed()) break;
    if (!db.prepare(kNumberTaken)
             .bind(1, team_id)
             .bind(2, rules.sequence_name)
             .bind(3, number)
             .step()) {
      // The checks above run under the write lock, so this is a backstop, not a code path we
      // expect.
      return refused(Refusal::kUniqueConstraintBackstop, /*by_index=*/true);
    }
    // The sequence is behind a stored team (a restored backup, a row inserted by hand): that is
    // the server's inconsistency, never the registrant's. Raise it past every issued number,
    // in this transaction, and allocate again.
    const std::int64_t highest = raise_to_highest(db, rules.sequence_name, number - 1, "committer");
    if (highest < number || heal_count + 1 >= kMaxSequenceHeals) {
      throw std::runtime_error(
          fmt::format("team number {} is taken but the sequence {} cannot be raised past it",
                      number, rules.sequence_name));
    }
    heals.push_back(SequenceHeal{number - 1, highest});
  }
  auto player = db.prepare(kInsertPlayer);
  for (std::size_t i = 0; i < r.players.size(); ++i) {
    const int position = static_cast<int>(i) + 1;
    player.reset();
    player.bind(1, ids::format_player_id(team_id, position)).bind(2, team_id).bind(3, position);
    player.bind(4, r.players[i].name).bind(5, r.players[i].role).step();
    if (player.constraint_failed()) throw std::runtime_error("player insert violated a constraint");
  }
  auto document = db.prepare(kInsertDocument);
  for (const StagedDocument& d : r.documents) {
    document.reset();
    document.bind(1, team_id).bind(2, d.field).bind(3, d.storage_key).bind(4, d.content_type);
    document.bind(5, static_cast<std::int64_t>(d.size_bytes)).step();
    if (document.constraint_failed()) {
      throw std::runtime_error("document insert violated a constraint");
    }
  }
  if (!r.idempotency_key.empty()) {
    db.prepare(kInsertIdempotency)
        .bind(1, r.idempotency_key)
        .bind(2, r.idempotency_fingerprint)
        .bind(3, static_cast<std::int64_t>(r.answers.created_status))
        .bind(4, created_body(r.answers, team_id))
        .bind(5, team_id)
        .bind(6, now)
        .step();
  }
  return Committed{number, team_id};
}

std::optional<Committed> SqliteStore::find_committed(std::string_view request_uuid) {
  auto db = readers_.acquire();
  auto select = db->prepare(kSelectByRequestUuid);
  if (!select.bind(1, request_uuid).step()) return std::nullopt;
  return Committed{select.int64(1), select.text(0)};
}

std::optional<StoredResponse> SqliteStore::find_idempotent(std::string_view key) {
  auto db = readers_.acquire();
  auto select = db->prepare(kSelectIdempotency);
  select.bind(1, key).bind(2, idempotency_cutoff());
  if (!select.step()) return std::nullopt;
  return StoredResponse{select.text(0), static_cast<unsigned>(select.int64(1)), select.text(2)};
}

TeamPage SqliteStore::list_teams(int limit, int offset) {
  auto db = readers_.acquire();
  Transaction tx(*db, /*immediate=*/false);  // one snapshot for the count and the page
  TeamPage page;
  {
    auto count = db->prepare(kCountTeams);
    count.step();
    page.total = count.int64(0);
  }
  auto select = db->prepare(kListTeams);
  select.bind(1, limit).bind(2, offset);
  while (select.step()) {
    page.teams.push_back(TeamSummary{select.text(0), select.int64(1), select.text(2),
                                     select.text(3), select.text(4), select.text(5),
                                     select.text(6)});
  }
  return page;
}

std::optional<TeamRecord> SqliteStore::find_team(std::string_view team_id) {
  auto db = readers_.acquire();
  Transaction tx(*db, /*immediate=*/false);
  auto select = db->prepare(kSelectTeam);
  select.bind(1, team_id);
  if (!select.step()) return std::nullopt;
  TeamRecord team;
  team.summary = TeamSummary{select.text(0), select.int64(1), select.text(2), select.text(3),
                             select.text(4), select.text(5),  select.text(6)};
  team.captain = Person{team.summary.captain_name, select.text(7), select.text(8), select.text(9)};
  team.vice = Person{select.text(10), select.text(11), select.text(12), select.text(13)};
  auto players = db->prepare(kSelectPlayers);
  players.bind(1, team_id);
  while (players.step()) {
    team.players.push_back(PlayerRecord{players.text(0), static_cast<int>(players.int64(1)),
                                        players.text(2), players.text(3)});
  }
  auto documents = db->prepare(kSelectDocuments);
  documents.bind(1, team_id);
  while (documents.step()) {
    team.documents.push_back(DocumentRecord{documents.text(0), documents.text(1), documents.text(2),
                                            static_cast<std::uint64_t>(documents.int64(3))});
  }
  return team;
}

std::vector<ChurchCount> SqliteStore::church_counts() {
  auto db = readers_.acquire();
  auto select = db->prepare(kChurchCounts);
  std::vector<ChurchCount> churches;
  while (select.step()) {
    churches.push_back(ChurchCount{select.text(0), static_cast<int>(select.int64(1))});
  }
  return churches;
}

SequenceState SqliteStore::sequence(const std::string& name) {
  auto db = readers_.acquire();
  Transaction tx(*db, /*immediate=*/false);
  return sqlite::read_sequence(*db, name);
}

SequenceState SqliteStore::sync_sequence(const std::string& name, std::string_view actor) {
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);
  const SequenceState before = raise_to_issued(*writer_, name, actor);
  tx.commit();
  return before;
}

std::vector<std::string> SqliteStore::referenced_keys(std::span<const std::string> keys) {
  auto db = readers_.acquire();
  auto select = db->prepare(kDocumentKeyExists);
  std::vector<std::string> referenced;
  for (const std::string& key : keys) {
    select.reset();
    if (select.bind(1, key).step()) referenced.push_back(key);
  }
  return referenced;
}

void SqliteStore::purge_idempotency() {
  const std::lock_guard lock(writer_mutex_);
  writer_->prepare(kDeleteOldIdempotency).bind(1, idempotency_cutoff()).step();
}

bool SqliteStore::ping() {
  try {
    auto db = readers_.acquire();
    return db->prepare("SELECT 1").step();
  } catch (const std::exception&) {
    return false;
  }
}

int SqliteStore::schema_version() {
  auto db = readers_.acquire();
  auto select = db->prepare(kSchemaVersion);
  select.step();
  return static_cast<int>(select.int64(0));
}

std::vector<std::string> SqliteStore::unique_keys() {
  auto db = readers_.acquire();
  std::vector<std::string> keys;
  auto tables = db->prepare(kTables);
  while (tables.step()) {
    const std::string table = tables.text(0);
    auto indexes = db->prepare(kIndexList);
    indexes.bind(1, table);
    while (indexes.step()) {
      if (indexes.int64(1) == 0) continue;
      auto columns = db->prepare(kIndexColumns);
      columns.bind(1, indexes.text(0));
      std::string key = table + "(";
      for (bool first = true; columns.step(); first = false) {
        key += (first ? "" : ",") + columns.text(0);
      }
      keys.push_back(key + ")");
    }
  }
  return keys;
}

}  // namespace teamreg::storage::sqlite
