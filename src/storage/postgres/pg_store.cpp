#include "storage/postgres/pg_store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <unordered_set>

#include "storage/migrations.hpp"
#include "storage/postgres/pg_sequence.hpp"

namespace teamreg::storage::postgres {
namespace {

namespace json = boost::json;

/// Serialises concurrent `migrate` calls of every process sharing the database ("teamreg" in
/// ASCII).
constexpr std::int64_t kMigrationLockKey = 0x7465616d726567;

constexpr std::string_view kSchemaVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kUniqueKeys =
    "SELECT c.relname || '(' || string_agg(a.attname, ',' ORDER BY k.ord) || ')' "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
    "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
    "WHERE i.indisunique AND pg_table_is_visible(c.oid) GROUP BY i.indexrelid, c.relname";
constexpr std::string_view kMigrationLock = "SELECT pg_advisory_xact_lock($1::bigint)";
constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)";
constexpr std::string_view kSelectAppliedVersions = "SELECT version FROM schema_migrations";
constexpr std::string_view kInsertMigration =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())";
constexpr std::string_view kInsertSequenceIfMissing =
    "INSERT INTO id_sequences (name, prefix, min_width, last_number) VALUES ($1, $2, $3, 0) "
    "ON CONFLICT (name) DO NOTHING";

// The whole batch in one statement, run in autocommit: one round trip, one commit.
constexpr std::string_view kRegisterBatch =
    "SELECT teamreg_register_batch($1, $2::integer, $3::jsonb)";
// The same, with a `received` mail queued for each committed registration (0005_mail_outbox.sql).
constexpr std::string_view kRegisterBatchWithMail =
    "SELECT teamreg_register_batch_with_mail($1, $2::integer, $3::jsonb)";

constexpr std::string_view kSelectByRequestUuid =
    "SELECT team_id, number FROM teams WHERE request_uuid = $1";
constexpr std::string_view kSelectIdempotency =
    "SELECT fingerprint, status, body FROM idempotency_keys "
    "WHERE key = $1 AND created_at > clock_timestamp() - interval '24 hours'";
constexpr std::string_view kDeleteOldIdempotency =
    "DELETE FROM idempotency_keys WHERE created_at <= clock_timestamp() - interval '24 hours'";

// The sequence and the highest stored number of its prefix, from one snapshot.
constexpr std::string_view kSelectSequence =
    "SELECT s.prefix, s.min_width, s.last_number,"
    " (SELECT COALESCE(MAX(substr(t.team_id, length(s.prefix) + 2)::bigint), 0) FROM teams t"
    "  WHERE left(t.team_id, length(s.prefix) + 1) = s.prefix || '-'"
    "  AND substr(t.team_id, length(s.prefix) + 2) ~ '^[0-9]{1,18}$') "
    "FROM id_sequences s WHERE s.name = $1";
constexpr std::string_view kRaiseSequence =
    "UPDATE id_sequences SET last_number = $2 WHERE name = $1 AND last_number < $2";
constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (at, actor, action, subject, from_value, to_value, detail) "
    "VALUES (date_trunc('milliseconds', clock_timestamp()), $1, $2, $3, $4, $5, $6)";

// One statement, so the count and the page come from one snapshot.
constexpr std::string_view kListTeams =
    "SELECT c.total, p.team_id, p.number, p.team_name, p.church_name, p.captain_name, p.created,"
    " p.status "
    "FROM (SELECT count(*) AS total FROM teams) c "
    "LEFT JOIN LATERAL (SELECT team_id, sequence_name, number, team_name, church_name,"
    " captain_name, teamreg_iso8601(created_at) AS created, status FROM teams"
    " ORDER BY sequence_name COLLATE \"C\", number LIMIT $1 OFFSET $2) p ON true "
    "ORDER BY p.sequence_name COLLATE \"C\", p.number";
// The team, its players and its documents in one statement (one snapshot, one round trip).
constexpr std::string_view kSelectTeam =
    "SELECT t.team_id, t.number, t.team_name, t.church_name, t.captain_name,"
    " teamreg_iso8601(t.created_at), t.status, t.captain_phone, t.captain_email,"
    " t.captain_whatsapp, t.vice_name, t.vice_phone, t.vice_email, t.vice_whatsapp,"
    " (SELECT COALESCE(json_agg(json_build_array(p.player_id, p.position, p.name, p.role)"
    "  ORDER BY p.position), '[]'::json) FROM players p WHERE p.team_id = t.team_id),"
    " (SELECT COALESCE(json_agg(json_build_array(d.field, d.storage_key, d.content_type,"
    "  d.size_bytes) ORDER BY d.field COLLATE \"C\"), '[]'::json)"
    "  FROM documents d WHERE d.team_id = t.team_id) "
    "FROM teams t WHERE t.team_id = $1";
// Grouped by the normalised key so "St. Paul" and "st.  paul" count as one church; byte order
// (COLLATE "C") as on SQLite, whatever the database's default collation.
constexpr std::string_view kChurchCounts =
    "SELECT MIN(church_name COLLATE \"C\"), COUNT(*) FROM teams WHERE status <> 'rejected' "
    "GROUP BY church_key ORDER BY 1";
constexpr std::string_view kReferencedKeys =
    "SELECT storage_key FROM documents "
    "WHERE storage_key IN (SELECT jsonb_array_elements_text($1::jsonb))";

/// The batch function's names for the refusals (migrations/postgres/0001 and 0004).
constexpr std::array<std::pair<std::string_view, Refusal>, kRefusalCount> kRefusalNames{{
    {"email", Refusal::kDuplicateCaptainEmail},
    {"team", Refusal::kDuplicateTeam},
    {"church", Refusal::kChurchLimitReached},
    {"constraint", Refusal::kUniqueConstraintBackstop},
    {"reused", Refusal::kIdempotencyKeyReused},
}};

std::optional<Refusal> refusal_named(std::string_view name) {
  for (const auto& [n, refusal] : kRefusalNames) {
    if (n == name) return refusal;
  }
  return std::nullopt;
}

json::object registration_json(const Registration& r) {
  json::array players;
  players.reserve(r.players.size());
  for (const Player& p : r.players)
    players.push_back(json::object{{"name", p.name}, {"role", p.role}});
  json::array documents;
  documents.reserve(r.documents.size());
  for (const StagedDocument& d : r.documents) {
    documents.push_back(json::object{{"field", d.field},
                                     {"storage_key", d.storage_key},
                                     {"content_type", d.content_type},
                                     {"size_bytes", d.size_bytes}});
  }
  json::object o{
      {"request_uuid", r.request_uuid},
      {"team_name", r.team_name},
      {"team_key", r.team_key},
      {"church_name", r.church_name},
      {"church_key", r.church_key},
      {"captain_name", r.captain.name},
      {"captain_phone", r.captain.phone},
      {"captain_email", r.captain.email},
      {"captain_whatsapp", r.captain.whatsapp},
      {"vice_name", r.vice.name},
      {"vice_phone", r.vice.phone},
      {"vice_email", r.vice.email},
      {"vice_whatsapp", r.vice.whatsapp},
      {"players", std::move(players)},
      {"documents", std::move(documents)},
  };
  if (!r.idempotency_key.empty()) {
    // The answers to store for the key, opaque bytes from the caller: the function splices
    // the team ID between body_head and body_tail, or stores the refusal's answer as it is.
    o["idempotency_key"] = r.idempotency_key;
    o["fingerprint"] = r.idempotency_fingerprint;
    o["created_status"] = r.answers.created_status;
    o["body_head"] = r.answers.created_head;
    o["body_tail"] = r.answers.created_tail;
    json::object errors;
    for (const auto& [name, refusal] : kRefusalNames) {
      if (refusal == Refusal::kIdempotencyKeyReused) continue;  // the key's owner keeps its own
      const StoredAnswer& answer = r.answers.for_refusal(refusal);
      errors[name] = json::object{{"status", answer.status}, {"body", answer.body}};
    }
    o["errors"] = std::move(errors);
  }
  return o;
}

/// Raises of the sequence the function made because a number was taken (0004_sequence_heal.sql).
void log_heals(const json::object& outcome, const CommitRules& rules) {
  const auto* healed = outcome.if_contains("healed");
  if (healed == nullptr || !healed->is_array()) return;
  for (const json::value& heal : healed->as_array()) {
    const json::object& h = heal.as_object();
    spdlog::warn(
        "sequence behind the highest issued number, raised name={} last_number={} "
        "highest_issued={}",
        rules.sequence_name, h.at("from").to_number<std::int64_t>(),
        h.at("to").to_number<std::int64_t>());
  }
}

CommitOutcome parse_outcome(const json::value& value, const CommitRules& rules) {
  const json::object& o = value.as_object();
  log_heals(o, rules);
  const json::string& kind = o.at("o").as_string();
  if (kind == "committed") {
    return Committed{o.at("number").to_number<std::int64_t>(),
                     std::string(o.at("team_id").as_string())};
  }
  if (kind == "replayed") {
    return Replayed{o.at("status").to_number<unsigned>(), std::string(o.at("body").as_string())};
  }
  if (const auto refusal = refusal_named(kind)) {
    const auto* backstop = o.if_contains("backstop");
    return refused(*refusal, backstop != nullptr && backstop->is_bool() && backstop->get_bool());
  }
  throw std::runtime_error(
      fmt::format("postgres batch returned an unknown outcome o={}", std::string_view(kind)));
}

SequenceState sequence_state(const std::string& name, const Result& row) {
  return SequenceState{name, ids::SequenceFormat{row.text(0, 0), static_cast<int>(row.int64(0, 1))},
                       row.int64(0, 2), 0};
}

}  // namespace

PgStore::PgStore(PgConfig config)
    : pool_(PoolConfig{config.dsn, config.pool_size, config.acquire_timeout,
                       config.statement_timeout}),
      commit_pool_(PoolConfig{std::move(config.dsn), config.commit_connections,
                              config.acquire_timeout, config.statement_timeout}) {}

template <typename F>
auto PgStore::read(F&& query) {
  return read_on(pool_, std::forward<F>(query));
}

template <typename F>
auto PgStore::read_on(ConnectionPool& pool, F&& query) {
  for (int attempt = 1;; ++attempt) {
    auto lease = pool.acquire();
    try {
      return query(*lease);
    } catch (const StatementTimeoutError&) {
      throw;  // a stalled database: another try would wait as long again
    } catch (const TransientError& e) {
      if (attempt >= 2 || !lease->broken()) throw;
      spdlog::info("postgres connection lost, retrying read error=\"{}\"", e.what());
    }
  }
}

void PgStore::migrate(const std::string& sequence_name, const ids::SequenceFormat& format) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  // Several processes may start at once: the first applies, the others wait and find it done.
  db.exec("migration lock", kMigrationLock, {kMigrationLockKey});
  db.exec("create schema_migrations", kCreateMigrationsTable);
  std::vector<std::int64_t> applied;
  {
    const Result versions = db.exec("select migrations", kSelectAppliedVersions);
    for (int row = 0; row < versions.rows(); ++row) applied.push_back(versions.int64(row, 0));
  }
  for (const Migration& migration : postgres_migrations()) {
    if (std::find(applied.begin(), applied.end(), migration.version) != applied.end()) continue;
    db.exec_script(fmt::format("migration {}", migration.version), migration.sql);
    db.exec("record migration", kInsertMigration, {migration.version, migration.name});
    spdlog::info("migration applied dialect=postgres version={} name={}", migration.version,
                 migration.name);
  }
  db.exec("create sequence", kInsertSequenceIfMissing,
          {sequence_name, format.prefix, format.min_width});
  tx.commit();
}

std::vector<CommitOutcome> PgStore::commit_batch(std::span<const Registration> batch,
                                                 const CommitRules& rules) {
  if (batch.empty()) return {};
  json::array registrations;
  registrations.reserve(batch.size());
  for (const Registration& r : batch) registrations.push_back(registration_json(r));
  const std::string payload = json::serialize(registrations);

  // The committer's own connection: a burst of reads must never make a commit wait for one.
  // A failure to get it means nothing was sent.
  auto lease = commit_pool_.acquire();
  const Result result = [&] {
    try {
      return lease->exec("register batch",
                         rules.queue_mail ? kRegisterBatchWithMail : kRegisterBatch,
                         {rules.sequence_name, rules.teams_per_church, payload});
    } catch (const TransientError& e) {
      // The statement commits on its own (autocommit): a connection lost while it ran may have
      // lost only the answer. A statement the server refused (serialization failure, deadlock)
      // rolled back, so that outcome is known.
      if (lease->broken()) throw AmbiguousCommitError(e.what());
      throw;
    }
  }();
  const json::value outcomes_json = json::parse(result.view(0, 0));
  const json::array& items = outcomes_json.as_array();
  if (items.size() != batch.size()) {
    throw std::runtime_error(fmt::format("postgres batch returned {} outcomes for {} registrations",
                                         items.size(), batch.size()));
  }
  std::vector<CommitOutcome> outcomes;
  outcomes.reserve(batch.size());
  for (const json::value& item : items) outcomes.push_back(parse_outcome(item, rules));
  return outcomes;
}

std::optional<Committed> PgStore::find_committed(std::string_view request_uuid) {
  // On the committer's connection, which resolves its own ambiguous commits.
  return read_on(commit_pool_, [&](Connection& db) -> std::optional<Committed> {
    const Result row = db.exec("find committed", kSelectByRequestUuid, {request_uuid});
    if (row.rows() == 0) return std::nullopt;
    return Committed{row.int64(0, 1), row.text(0, 0)};
  });
}

std::optional<StoredResponse> PgStore::find_idempotent(std::string_view key) {
  return read([&](Connection& db) -> std::optional<StoredResponse> {
    const Result row = db.exec("find idempotency key", kSelectIdempotency, {key});
    if (row.rows() == 0) return std::nullopt;
    return StoredResponse{row.text(0, 0), static_cast<unsigned>(row.int64(0, 1)), row.text(0, 2)};
  });
}

TeamPage PgStore::list_teams(int limit, int offset) {
  return read([&](Connection& db) {
    const Result rows = db.exec("list teams", kListTeams, {limit, offset});
    TeamPage page;
    for (int i = 0; i < rows.rows(); ++i) {
      page.total = rows.int64(i, 0);
      if (rows.is_null(i, 1)) continue;  // the page is empty, only the count came back
      page.teams.push_back(TeamSummary{rows.text(i, 1), rows.int64(i, 2), rows.text(i, 3),
                                       rows.text(i, 4), rows.text(i, 5), rows.text(i, 6),
                                       rows.text(i, 7)});
    }
    return page;
  });
}

std::optional<TeamRecord> PgStore::find_team(std::string_view team_id) {
  return read([&](Connection& db) -> std::optional<TeamRecord> {
    const Result row = db.exec("find team", kSelectTeam, {team_id});
    if (row.rows() == 0) return std::nullopt;
    TeamRecord team;
    team.summary = TeamSummary{row.text(0, 0), row.int64(0, 1), row.text(0, 2), row.text(0, 3),
                               row.text(0, 4), row.text(0, 5),  row.text(0, 6)};
    team.captain =
        Person{team.summary.captain_name, row.text(0, 7), row.text(0, 8), row.text(0, 9)};
    team.vice = Person{row.text(0, 10), row.text(0, 11), row.text(0, 12), row.text(0, 13)};
    const json::value players = json::parse(row.view(0, 14));
    const json::value documents = json::parse(row.view(0, 15));
    for (const json::value& p : players.as_array()) {
      const json::array& a = p.as_array();
      team.players.push_back(
          PlayerRecord{std::string(a.at(0).as_string()), a.at(1).to_number<int>(),
                       std::string(a.at(2).as_string()), std::string(a.at(3).as_string())});
    }
    for (const json::value& d : documents.as_array()) {
      const json::array& a = d.as_array();
      team.documents.push_back(
          DocumentRecord{std::string(a.at(0).as_string()), std::string(a.at(1).as_string()),
                         std::string(a.at(2).as_string()), a.at(3).to_number<std::uint64_t>()});
    }
    return team;
  });
}

std::vector<ChurchCount> PgStore::church_counts() {
  return read([&](Connection& db) {
    const Result rows = db.exec("church counts", kChurchCounts);
    std::vector<ChurchCount> churches;
    churches.reserve(static_cast<std::size_t>(rows.rows()));
    for (int i = 0; i < rows.rows(); ++i) {
      churches.push_back(ChurchCount{rows.text(i, 0), static_cast<int>(rows.int64(i, 1))});
    }
    return churches;
  });
}

SequenceState PgStore::sequence(const std::string& name) {
  return read([&](Connection& db) {
    const Result row = db.exec("select sequence", kSelectSequence, {name});
    if (row.rows() == 0) throw std::runtime_error("sequence row missing: " + name);
    SequenceState state = sequence_state(name, row);
    state.highest_issued = row.int64(0, 3);
    return state;
  });
}

SequenceState PgStore::sync_sequence(const std::string& name, std::string_view actor) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  const SequenceState before = lock_sequence(db, name);
  if (before.highest_issued > before.last_number) {
    db.exec("raise sequence", kRaiseSequence, {name, before.highest_issued});
    db.exec("insert audit", kInsertAudit,
            {actor, "sequence.sync", name, std::to_string(before.last_number),
             std::to_string(before.highest_issued), "raised to the highest issued number"});
  }
  tx.commit();
  return before;
}

std::vector<std::string> PgStore::referenced_keys(std::span<const std::string> keys) {
  if (keys.empty()) return {};
  json::array list;
  list.reserve(keys.size());
  for (const std::string& key : keys) list.emplace_back(key);
  const std::string payload = json::serialize(list);
  const std::unordered_set<std::string> found = read([&](Connection& db) {
    const Result rows = db.exec("referenced keys", kReferencedKeys, {payload});
    std::unordered_set<std::string> set;
    for (int i = 0; i < rows.rows(); ++i) set.insert(rows.text(i, 0));
    return set;
  });
  std::vector<std::string> referenced;
  for (const std::string& key : keys) {
    if (found.contains(key)) referenced.push_back(key);  // in the caller's order, as on SQLite
  }
  return referenced;
}

void PgStore::purge_idempotency() {
  read([&](Connection& db) {
    db.exec("purge idempotency keys", kDeleteOldIdempotency);
    return 0;
  });
}

bool PgStore::ping() {
  try {
    return read([&](Connection& db) { return db.exec("ping", "SELECT 1").rows() == 1; });
  } catch (const std::exception&) {
    return false;
  }
}

int PgStore::schema_version() {
  return read([&](Connection& db) {
    return static_cast<int>(std::stol(db.exec("schema version", kSchemaVersion).text(0, 0)));
  });
}

std::vector<std::string> PgStore::unique_keys() {
  return read([&](Connection& db) {
    const Result rows = db.exec("unique keys", kUniqueKeys);
    std::vector<std::string> keys;
    for (int i = 0; i < rows.rows(); ++i) keys.push_back(rows.text(i, 0));
    return keys;
  });
}

}  // namespace teamreg::storage::postgres
