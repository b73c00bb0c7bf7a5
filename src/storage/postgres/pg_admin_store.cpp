#include "storage/postgres/pg_admin_store.hpp"

#include <boost/json.hpp>

#include "storage/admin_rules.hpp"
#include "storage/postgres/pg_outbox_store.hpp"
#include "storage/postgres/pg_sequence.hpp"

namespace teamreg::storage::postgres {
namespace {

namespace json = boost::json;

constexpr std::string_view kInsertToken =
    "INSERT INTO admin_tokens (name, token_hash, created_at) "
    "VALUES ($1, $2, date_trunc('milliseconds', clock_timestamp())) "
    "ON CONFLICT DO NOTHING RETURNING id";
constexpr std::string_view kUserNamed = "SELECT 1 FROM admin_users WHERE name = $1";
constexpr std::string_view kListTokens =
    "SELECT name, teamreg_iso8601(created_at), teamreg_iso8601(revoked_at),"
    " teamreg_iso8601(last_used_at) FROM admin_tokens ORDER BY id";
constexpr std::string_view kRevokeToken =
    "UPDATE admin_tokens SET revoked_at = date_trunc('milliseconds', clock_timestamp()) "
    "WHERE name = $1 AND revoked_at IS NULL RETURNING id";
constexpr std::string_view kActiveTokens =
    "SELECT name, token_hash, teamreg_iso8601(last_used_at) FROM admin_tokens "
    "WHERE revoked_at IS NULL";
constexpr std::string_view kTouchToken =
    "UPDATE admin_tokens SET last_used_at = date_trunc('milliseconds', clock_timestamp()) "
    "WHERE name = $1";
constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (at, actor, action, subject, from_value, to_value, detail) "
    "VALUES (date_trunc('milliseconds', clock_timestamp()), $1, $2, $3, $4, $5, $6)";

// $1 status or '', $2 ILIKE pattern or '': the optional filters are bound, never spliced in.
constexpr std::string_view kCountAdminTeams =
    "SELECT count(*) FROM teams WHERE ($1::text = '' OR status = $1::text) AND ($2::text = ''"
    " OR team_id ILIKE $2 ESCAPE '\\' OR team_name ILIKE $2 ESCAPE '\\'"
    " OR church_name ILIKE $2 ESCAPE '\\' OR captain_name ILIKE $2 ESCAPE '\\'"
    " OR captain_email ILIKE $2 ESCAPE '\\' OR captain_phone ILIKE $2 ESCAPE '\\'"
    " OR vice_name ILIKE $2 ESCAPE '\\')";
constexpr std::string_view kListAdminTeams =
    "SELECT t.team_id, t.number, t.team_name, t.church_name, t.captain_name,"
    " teamreg_iso8601(t.created_at), t.status, t.captain_phone, t.captain_email,"
    " t.captain_whatsapp, t.vice_name, t.vice_phone, t.vice_email, t.vice_whatsapp,"
    " (SELECT count(*) FROM players p WHERE p.team_id = t.team_id),"
    " (SELECT COALESCE(json_agg(d.field ORDER BY d.field COLLATE \"C\"), '[]'::json)"
    "  FROM documents d WHERE d.team_id = t.team_id) "
    "FROM teams t WHERE ($1::text = '' OR t.status = $1::text) AND ($2::text = ''"
    " OR t.team_id ILIKE $2 ESCAPE '\\' OR t.team_name ILIKE $2 ESCAPE '\\'"
    " OR t.church_name ILIKE $2 ESCAPE '\\' OR t.captain_name ILIKE $2 ESCAPE '\\'"
    " OR t.captain_email ILIKE $2 ESCAPE '\\' OR t.captain_phone ILIKE $2 ESCAPE '\\'"
    " OR t.vice_name ILIKE $2 ESCAPE '\\') "
    "ORDER BY t.created_at DESC, t.number DESC LIMIT $3 OFFSET $4";

// A player's documents are the fields player_{i}_…, i = position - 1 (validation makes the form
// indexes contiguous from 0).
constexpr std::string_view kSelectPlayer =
    "SELECT p.player_id, p.position, p.name, p.role, t.team_id, t.team_name, t.church_name,"
    " (SELECT COALESCE(json_agg(d.field ORDER BY d.field COLLATE \"C\"), '[]'::json)"
    "  FROM documents d WHERE d.team_id = t.team_id"
    "  AND left(d.field, length('player_' || (p.position - 1) || '_'))"
    "      = 'player_' || (p.position - 1) || '_') "
    "FROM players p JOIN teams t ON t.team_id = p.team_id WHERE p.player_id = $1";
constexpr std::string_view kSelectDocument =
    "SELECT field, storage_key, content_type, size_bytes FROM documents "
    "WHERE team_id = $1 AND field = $2";

constexpr std::string_view kLockTeam =
    "SELECT status, status_reason, captain_email, team_key, captain_phone, church_key,"
    " sequence_name FROM teams WHERE team_id = $1 FOR UPDATE";
// The lock every registration batch takes first (teamreg_register_batch): holding it, no
// registration can take a slot between the checks below and the status update.
constexpr std::string_view kLockSequenceRow =
    "SELECT 1 FROM id_sequences WHERE name = $1 FOR NO KEY UPDATE";
constexpr std::string_view kOtherActiveEmail =
    "SELECT 1 FROM teams WHERE captain_email = $1 AND status <> 'rejected' AND team_id <> $2";
constexpr std::string_view kOtherActiveTeam =
    "SELECT 1 FROM teams WHERE team_key = $1 AND captain_phone = $2 AND status <> 'rejected' "
    "AND team_id <> $3";
constexpr std::string_view kOtherActiveChurchCount =
    "SELECT count(*) FROM teams WHERE church_key = $1 AND status <> 'rejected' AND team_id <> $2";
constexpr std::string_view kUpdateStatus =
    "UPDATE teams SET status = $2, status_reason = $3,"
    " updated_at = date_trunc('milliseconds', clock_timestamp()) WHERE team_id = $1";

constexpr std::string_view kSetSequence =
    "UPDATE id_sequences SET last_number = $2 WHERE name = $1";

constexpr std::string_view kCountAudit = "SELECT count(*) FROM audit_log";
constexpr std::string_view kListAudit =
    "SELECT id, teamreg_iso8601(at), actor, action, subject, from_value, to_value, detail "
    "FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2";

// One export page: the teams after the cursor ($1, $2, $3), at most $4 of them, with their
// players. Bytewise ("C") order, as SQLite compares, so both databases export in one order.
constexpr std::string_view kExportPage =
    "WITH page AS ("
    " SELECT * FROM teams"
    " WHERE (sequence_name COLLATE \"C\", number, team_id COLLATE \"C\")"
    "  > ($1::text COLLATE \"C\", $2::bigint, $3::text COLLATE \"C\")"
    " ORDER BY sequence_name COLLATE \"C\", number, team_id COLLATE \"C\" LIMIT $4::integer) "
    "SELECT t.team_id, t.number, t.team_name, t.church_name, t.captain_name,"
    " teamreg_iso8601(t.created_at), t.status, t.captain_phone, t.captain_email,"
    " t.captain_whatsapp, t.vice_name, t.vice_phone, t.vice_email, t.vice_whatsapp,"
    " t.status_reason, p.player_id, p.position, p.name, p.role, t.sequence_name "
    "FROM page t LEFT JOIN players p ON p.team_id = t.team_id "
    "ORDER BY t.sequence_name COLLATE \"C\", t.number, t.team_id COLLATE \"C\", p.position";

constexpr std::string_view kUniqueViolation = "23505";

Param optional_param(const std::optional<std::string>& value) {
  return value ? Param(*value) : Param(std::nullopt);
}

/// An ILIKE pattern matching `text` anywhere, with the wildcards escaped.
std::string contains_pattern(std::string_view text) {
  std::string pattern = "%";
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('%');
  return pattern;
}

std::vector<std::string> json_strings(std::string_view text) {
  std::vector<std::string> out;
  const json::value parsed = json::parse(text);
  for (const json::value& v : parsed.as_array()) out.emplace_back(v.as_string());
  return out;
}

TeamSummary summary_of(const Result& r, int row) {
  return TeamSummary{r.text(row, 0), r.int64(row, 1), r.text(row, 2), r.text(row, 3),
                     r.text(row, 4), r.text(row, 5),  r.text(row, 6)};
}

void insert_audit(Connection& db, std::string_view actor, std::string_view action,
                  std::string_view subject, const std::optional<std::string>& from,
                  const std::optional<std::string>& to, const std::optional<std::string>& detail) {
  db.exec(
      "insert audit", kInsertAudit,
      {actor, action, subject, optional_param(from), optional_param(to), optional_param(detail)});
}

}  // namespace

PgAdminStore::PgAdminStore(PoolConfig config) : pool_(std::move(config)) {}

tl::expected<void, Error> PgAdminStore::create_token(std::string_view name,
                                                     std::string_view token_hash,
                                                     std::string_view actor) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  db.exec("lock principal names", kLockPrincipalNames);
  if (db.exec("user named", kUserNamed, {name}).rows() > 0) {
    return tl::unexpected(admin_rules::name_is_a_user());
  }
  if (db.exec("insert token", kInsertToken, {name, token_hash}).rows() == 0) {
    return tl::unexpected(admin_rules::token_name_taken());
  }
  insert_audit(db, actor, "token.create", name, std::nullopt, std::nullopt, std::nullopt);
  tx.commit();
  return {};
}

std::vector<AdminTokenInfo> PgAdminStore::list_tokens() {
  auto lease = pool_.acquire();
  const Result rows = lease->exec("list tokens", kListTokens);
  std::vector<AdminTokenInfo> tokens;
  tokens.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    tokens.push_back(AdminTokenInfo{rows.text(i, 0), rows.text(i, 1), rows.optional_text(i, 2),
                                    rows.optional_text(i, 3)});
  }
  return tokens;
}

bool PgAdminStore::revoke_token(std::string_view name, std::string_view actor) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  if (db.exec("revoke token", kRevokeToken, {name}).rows() == 0) return false;
  insert_audit(db, actor, "token.revoke", name, std::nullopt, std::nullopt, std::nullopt);
  tx.commit();
  return true;
}

std::vector<ActiveToken> PgAdminStore::active_tokens() {
  auto lease = pool_.acquire();
  const Result rows = lease->exec("active tokens", kActiveTokens);
  std::vector<ActiveToken> tokens;
  tokens.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    tokens.push_back(ActiveToken{rows.text(i, 0), rows.text(i, 1), rows.optional_text(i, 2)});
  }
  return tokens;
}

void PgAdminStore::touch_token(std::string_view name) {
  auto lease = pool_.acquire();
  lease->exec("touch token", kTouchToken, {name});
}

AdminTeamPage PgAdminStore::list_teams(const AdminTeamQuery& query) {
  const std::string pattern = query.search.empty() ? std::string() : contains_pattern(query.search);
  auto lease = pool_.acquire();
  Connection& db = *lease;
  // One snapshot for the count and the page.
  Transaction tx(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  AdminTeamPage page;
  page.total = db.exec("count admin teams", kCountAdminTeams, {query.status, pattern}).int64(0, 0);
  const Result rows = db.exec("list admin teams", kListAdminTeams,
                              {query.status, pattern, query.limit, query.offset});
  tx.commit();
  for (int i = 0; i < rows.rows(); ++i) {
    AdminTeamRow row;
    row.summary = summary_of(rows, i);
    row.captain =
        Person{row.summary.captain_name, rows.text(i, 7), rows.text(i, 8), rows.text(i, 9)};
    row.vice = Person{rows.text(i, 10), rows.text(i, 11), rows.text(i, 12), rows.text(i, 13)};
    row.player_count = static_cast<int>(rows.int64(i, 14));
    row.document_fields = json_strings(rows.view(i, 15));
    page.teams.push_back(std::move(row));
  }
  return page;
}

std::optional<PlayerDetail> PgAdminStore::find_player(std::string_view player_id) {
  auto lease = pool_.acquire();
  const Result row = lease->exec("find player", kSelectPlayer, {player_id});
  if (row.rows() == 0) return std::nullopt;
  PlayerDetail detail;
  detail.player = PlayerRecord{row.text(0, 0), static_cast<int>(row.int64(0, 1)), row.text(0, 2),
                               row.text(0, 3)};
  detail.team_id = row.text(0, 4);
  detail.team_name = row.text(0, 5);
  detail.church_name = row.text(0, 6);
  detail.document_fields = json_strings(row.view(0, 7));
  return detail;
}

std::optional<DocumentRecord> PgAdminStore::find_document(std::string_view team_id,
                                                          std::string_view field) {
  auto lease = pool_.acquire();
  const Result row = lease->exec("find document", kSelectDocument, {team_id, field});
  if (row.rows() == 0) return std::nullopt;
  return DocumentRecord{row.text(0, 0), row.text(0, 1), row.text(0, 2),
                        static_cast<std::uint64_t>(row.int64(0, 3))};
}

tl::expected<StatusChange, Error> PgAdminStore::set_status(const StatusRequest& request) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  // The team row lock makes two concurrent confirms of one team one change and one audit entry.
  const Result team = db.exec("lock team", kLockTeam, {request.team_id});
  if (team.rows() == 0) return tl::unexpected(admin_rules::team_not_found());
  StatusChange change{request.team_id, team.text(0, 0), request.status, team.optional_text(0, 1),
                      false};
  if (change.from == request.status) return change;

  if (change.from == "rejected") {
    // The rejection freed this team's slots; someone may have taken them since. Under the
    // sequence row lock (READ COMMITTED: each check sees every batch committed before it).
    db.exec("lock sequence", kLockSequenceRow, {team.text(0, 6)});
    const std::string email = team.text(0, 2);
    if (db.exec("other active email", kOtherActiveEmail, {email, request.team_id}).rows() > 0) {
      return tl::unexpected(admin_rules::email_taken());
    }
    if (db.exec("other active team", kOtherActiveTeam,
                {team.text(0, 3), team.text(0, 4), request.team_id})
            .rows() > 0) {
      return tl::unexpected(admin_rules::team_taken());
    }
    const std::int64_t church =
        db.exec("other active church", kOtherActiveChurchCount, {team.text(0, 5), request.team_id})
            .int64(0, 0);
    if (church >= request.teams_per_church) {
      return tl::unexpected(admin_rules::church_full(request.teams_per_church));
    }
  }
  change.reason = request.status == "rejected" && !request.reason.empty()
                      ? std::optional<std::string>(request.reason)
                      : std::nullopt;
  try {
    db.exec("update status", kUpdateStatus,
            {request.team_id, request.status, optional_param(change.reason)});
  } catch (const PgError& e) {
    if (e.sqlstate() != kUniqueViolation) throw;
    // The checks above run under the sequence lock; this is a backstop.
    Error error = admin_rules::team_taken();
    error.log_detail = "unique index fired on status change";
    return tl::unexpected(std::move(error));
  }
  insert_audit(db, request.actor, request.status == "confirmed" ? "team.confirm" : "team.reject",
               request.team_id, change.from, change.to, change.reason);
  if (request.queue_mail) {
    queue_mail(db, request.status == "confirmed" ? kMailConfirmed : kMailRejected, request.team_id,
               change.reason.value_or(""));
  }
  tx.commit();
  change.changed = true;
  return change;
}

tl::expected<SequenceReset, Error> PgAdminStore::reset_sequence(const std::string& name,
                                                                std::int64_t new_number,
                                                                std::string_view actor) {
  if (new_number < 0) return tl::unexpected(admin_rules::negative_number());
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db);
  // Lock first, then read the teams: the highest number comes from a snapshot taken after every
  // registration batch that held the lock before us has committed, and none can allocate until
  // we commit.
  SequenceReset reset;
  reset.before = lock_sequence(db, name);
  reset.new_number = new_number;
  const SequenceState& before = reset.before;
  if (new_number < before.highest_issued) {
    return tl::unexpected(
        admin_rules::below_issued(before.format, new_number, before.highest_issued));
  }
  if (new_number == before.last_number) return reset;
  db.exec("set sequence", kSetSequence, {name, new_number});
  insert_audit(db, actor, "sequence.reset", name, std::to_string(before.last_number),
               std::to_string(new_number),
               admin_rules::reset_detail(before.highest_issued, new_number));
  tx.commit();
  reset.changed = true;
  return reset;
}

AuditPage PgAdminStore::audit(int limit, int offset) {
  auto lease = pool_.acquire();
  Connection& db = *lease;
  Transaction tx(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  AuditPage page;
  page.total = db.exec("count audit", kCountAudit).int64(0, 0);
  const Result rows = db.exec("list audit", kListAudit, {limit, offset});
  tx.commit();
  for (int i = 0; i < rows.rows(); ++i) {
    page.entries.push_back(AuditEntry{rows.int64(i, 0), rows.text(i, 1), rows.text(i, 2),
                                      rows.text(i, 3), rows.text(i, 4), rows.optional_text(i, 5),
                                      rows.optional_text(i, 6), rows.optional_text(i, 7)});
  }
  return page;
}

std::vector<ExportRow> PgAdminStore::export_page(const ExportCursor& after, int max_teams) {
  auto lease = pool_.acquire();
  const Result rows = lease->exec("export page", kExportPage,
                                  {after.sequence_name, after.number, after.team_id, max_teams});
  std::vector<ExportRow> page;
  page.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    ExportRow row;
    row.team = summary_of(rows, i);
    row.captain = Person{row.team.captain_name, rows.text(i, 7), rows.text(i, 8), rows.text(i, 9)};
    row.vice = Person{rows.text(i, 10), rows.text(i, 11), rows.text(i, 12), rows.text(i, 13)};
    row.status_reason = rows.optional_text(i, 14);
    if (!rows.is_null(i, 15)) {
      row.player = PlayerRecord{rows.text(i, 15), static_cast<int>(rows.int64(i, 16)),
                                rows.text(i, 17), rows.text(i, 18)};
    }
    row.sequence_name = rows.text(i, 19);
    page.push_back(std::move(row));
  }
  return page;
}

}  // namespace teamreg::storage::postgres
