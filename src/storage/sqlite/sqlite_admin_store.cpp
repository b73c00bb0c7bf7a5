#include "storage/sqlite/sqlite_admin_store.hpp"

#include <fmt/format.h>

#include "core/clock.hpp"
#include "storage/admin_rules.hpp"
#include "storage/sqlite/sqlite_outbox_store.hpp"
#include "storage/sqlite/sqlite_sequence.hpp"

namespace teamreg::storage::sqlite {
namespace {

constexpr std::string_view kInsertToken =
    "INSERT INTO admin_tokens (name, token_hash, created_at) VALUES (?1, ?2, ?3)";
constexpr std::string_view kUserNamed = "SELECT 1 FROM admin_users WHERE name = ?1";
constexpr std::string_view kListTokens =
    "SELECT name, created_at, revoked_at, last_used_at FROM admin_tokens ORDER BY id";
constexpr std::string_view kRevokeToken =
    "UPDATE admin_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL "
    "RETURNING name";
constexpr std::string_view kActiveTokens =
    "SELECT name, token_hash, last_used_at FROM admin_tokens WHERE revoked_at IS NULL";
constexpr std::string_view kTouchToken =
    "UPDATE admin_tokens SET last_used_at = ?2 WHERE name = ?1";

// ?1 status or '', ?2 LIKE pattern or '': the optional filters are bound, never spliced in.
constexpr std::string_view kCountAdminTeams =
    "SELECT COUNT(*) FROM teams WHERE (?1 = '' OR status = ?1) AND (?2 = ''"
    " OR team_id LIKE ?2 ESCAPE '\\' OR team_name LIKE ?2 ESCAPE '\\'"
    " OR church_name LIKE ?2 ESCAPE '\\' OR captain_name LIKE ?2 ESCAPE '\\'"
    " OR captain_email LIKE ?2 ESCAPE '\\' OR captain_phone LIKE ?2 ESCAPE '\\'"
    " OR vice_name LIKE ?2 ESCAPE '\\')";
constexpr std::string_view kListAdminTeams =
    "SELECT team_id, number, team_name, church_name, captain_name, created_at, status,"
    " captain_phone, captain_email, captain_whatsapp, vice_name, vice_phone, vice_email,"
    " vice_whatsapp, (SELECT COUNT(*) FROM players p WHERE p.team_id = teams.team_id) "
    "FROM teams WHERE (?1 = '' OR status = ?1) AND (?2 = ''"
    " OR team_id LIKE ?2 ESCAPE '\\' OR team_name LIKE ?2 ESCAPE '\\'"
    " OR church_name LIKE ?2 ESCAPE '\\' OR captain_name LIKE ?2 ESCAPE '\\'"
    " OR captain_email LIKE ?2 ESCAPE '\\' OR captain_phone LIKE ?2 ESCAPE '\\'"
    " OR vice_name LIKE ?2 ESCAPE '\\') "
    "ORDER BY created_at DESC, number DESC LIMIT ?3 OFFSET ?4";
constexpr std::string_view kDocumentFields =
    "SELECT field FROM documents WHERE team_id = ?1 ORDER BY field";

constexpr std::string_view kSelectPlayer =
    "SELECT p.player_id, p.position, p.name, p.role, t.team_id, t.team_name, t.church_name "
    "FROM players p JOIN teams t ON t.team_id = p.team_id WHERE p.player_id = ?1";
constexpr std::string_view kPlayerDocumentFields =
    "SELECT field FROM documents WHERE team_id = ?1 AND substr(field, 1, length(?2)) = ?2 "
    "ORDER BY field";
constexpr std::string_view kSelectDocument =
    "SELECT field, storage_key, content_type, size_bytes FROM documents "
    "WHERE team_id = ?1 AND field = ?2";

constexpr std::string_view kSelectTeamForStatus =
    "SELECT status, status_reason, captain_email, team_key, captain_phone, church_key "
    "FROM teams WHERE team_id = ?1";
constexpr std::string_view kOtherActiveEmail =
    "SELECT 1 FROM teams WHERE captain_email = ?1 AND status <> 'rejected' AND team_id <> ?2";
constexpr std::string_view kOtherActiveTeam =
    "SELECT 1 FROM teams WHERE team_key = ?1 AND captain_phone = ?2 AND status <> 'rejected' "
    "AND team_id <> ?3";
constexpr std::string_view kOtherActiveChurchCount =
    "SELECT COUNT(*) FROM teams WHERE church_key = ?1 AND status <> 'rejected' AND team_id <> ?2";
constexpr std::string_view kUpdateStatus =
    "UPDATE teams SET status = ?2, status_reason = ?3, updated_at = ?4 WHERE team_id = ?1";

constexpr std::string_view kCountAudit = "SELECT COUNT(*) FROM audit_log";
constexpr std::string_view kListAudit =
    "SELECT id, at, actor, action, subject, from_value, to_value, detail FROM audit_log "
    "ORDER BY id DESC LIMIT ?1 OFFSET ?2";

// One export page: the teams after the cursor (?1, ?2, ?3), at most ?4 of them, with their
// players.
constexpr std::string_view kExportPage =
    "WITH page AS ("
    " SELECT * FROM teams WHERE (sequence_name, number, team_id) > (?1, ?2, ?3)"
    " ORDER BY sequence_name, number, team_id LIMIT ?4) "
    "SELECT t.team_id, t.number, t.team_name, t.church_name, t.captain_name, t.created_at,"
    " t.status, t.captain_phone, t.captain_email, t.captain_whatsapp, t.vice_name, t.vice_phone,"
    " t.vice_email, t.vice_whatsapp, t.status_reason, p.player_id, p.position, p.name, p.role,"
    " t.sequence_name "
    "FROM page t LEFT JOIN players p ON p.team_id = t.team_id "
    "ORDER BY t.sequence_name, t.number, t.team_id, p.position";

/// A LIKE pattern matching `text` anywhere, with LIKE's own wildcards escaped.
std::string contains_pattern(std::string_view text) {
  std::string pattern = "%";
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('%');
  return pattern;
}

TeamSummary summary_of(const Statement& row) {
  return TeamSummary{row.text(0), row.int64(1), row.text(2), row.text(3),
                     row.text(4), row.text(5),  row.text(6)};
}

}  // namespace

SqliteAdminStore::SqliteAdminStore(std::string path)
    : path_(std::move(path)), writer_(std::make_unique<Connection>(path_)), readers_(path_) {}

tl::expected<void, Error> SqliteAdminStore::create_token(std::string_view name,
                                                         std::string_view token_hash,
                                                         std::string_view actor) {
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);  // the write lock also orders user creations
  if (writer_->prepare(kUserNamed).bind(1, name).step()) {
    return tl::unexpected(admin_rules::name_is_a_user());
  }
  auto insert = writer_->prepare(kInsertToken);
  insert.bind(1, name).bind(2, token_hash).bind(3, now_iso8601()).step();
  if (insert.constraint_failed()) {
    return tl::unexpected(admin_rules::token_name_taken());
  }
  insert_audit(*writer_,
               AuditRecord{actor, "token.create", name, std::nullopt, std::nullopt, std::nullopt});
  tx.commit();
  return {};
}

std::vector<AdminTokenInfo> SqliteAdminStore::list_tokens() {
  auto db = readers_.acquire();
  auto select = db->prepare(kListTokens);
  std::vector<AdminTokenInfo> tokens;
  while (select.step()) {
    tokens.push_back(AdminTokenInfo{select.text(0), select.text(1), select.optional_text(2),
                                    select.optional_text(3)});
  }
  return tokens;
}

bool SqliteAdminStore::revoke_token(std::string_view name, std::string_view actor) {
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);
  auto update = writer_->prepare(kRevokeToken);
  if (!update.bind(1, name).bind(2, now_iso8601()).step()) return false;
  update.reset();  // finishes the RETURNING statement before the next one
  insert_audit(*writer_,
               AuditRecord{actor, "token.revoke", name, std::nullopt, std::nullopt, std::nullopt});
  tx.commit();
  return true;
}

std::vector<ActiveToken> SqliteAdminStore::active_tokens() {
  auto db = readers_.acquire();
  auto select = db->prepare(kActiveTokens);
  std::vector<ActiveToken> tokens;
  while (select.step()) {
    tokens.push_back(ActiveToken{select.text(0), select.text(1), select.optional_text(2)});
  }
  return tokens;
}

void SqliteAdminStore::touch_token(std::string_view name) {
  const std::lock_guard lock(writer_mutex_);
  writer_->prepare(kTouchToken).bind(1, name).bind(2, now_iso8601()).step();
}

AdminTeamPage SqliteAdminStore::list_teams(const AdminTeamQuery& query) {
  const std::string pattern = query.search.empty() ? std::string() : contains_pattern(query.search);
  auto db = readers_.acquire();
  Transaction tx(*db, /*immediate=*/false);  // one snapshot for the count and the page
  AdminTeamPage page;
  {
    auto count = db->prepare(kCountAdminTeams);
    count.bind(1, query.status).bind(2, pattern).step();
    page.total = count.int64(0);
  }
  auto select = db->prepare(kListAdminTeams);
  select.bind(1, query.status).bind(2, pattern).bind(3, query.limit).bind(4, query.offset);
  auto documents = db->prepare(kDocumentFields);
  while (select.step()) {
    AdminTeamRow row;
    row.summary = summary_of(select);
    row.captain = Person{row.summary.captain_name, select.text(7), select.text(8), select.text(9)};
    row.vice = Person{select.text(10), select.text(11), select.text(12), select.text(13)};
    row.player_count = static_cast<int>(select.int64(14));
    documents.reset();
    documents.bind(1, row.summary.team_id);
    while (documents.step()) row.document_fields.push_back(documents.text(0));
    page.teams.push_back(std::move(row));
  }
  return page;
}

std::optional<PlayerDetail> SqliteAdminStore::find_player(std::string_view player_id) {
  auto db = readers_.acquire();
  Transaction tx(*db, /*immediate=*/false);
  auto select = db->prepare(kSelectPlayer);
  if (!select.bind(1, player_id).step()) return std::nullopt;
  PlayerDetail detail;
  detail.player = PlayerRecord{select.text(0), static_cast<int>(select.int64(1)), select.text(2),
                               select.text(3)};
  detail.team_id = select.text(4);
  detail.team_name = select.text(5);
  detail.church_name = select.text(6);
  // Form index i (player_{i}_…) is position i + 1: validation makes the indexes contiguous.
  auto documents = db->prepare(kPlayerDocumentFields);
  documents.bind(1, detail.team_id).bind(2, fmt::format("player_{}_", detail.player.position - 1));
  while (documents.step()) detail.document_fields.push_back(documents.text(0));
  return detail;
}

std::optional<DocumentRecord> SqliteAdminStore::find_document(std::string_view team_id,
                                                              std::string_view field) {
  auto db = readers_.acquire();
  auto select = db->prepare(kSelectDocument);
  if (!select.bind(1, team_id).bind(2, field).step()) return std::nullopt;
  return DocumentRecord{select.text(0), select.text(1), select.text(2),
                        static_cast<std::uint64_t>(select.int64(3))};
}

tl::expected<StatusChange, Error> SqliteAdminStore::set_status(const StatusRequest& request) {
  const std::lock_guard lock(writer_mutex_);
  Connection& db = *writer_;
  Transaction tx(db, /*immediate=*/true);
  auto select = db.prepare(kSelectTeamForStatus);
  if (!select.bind(1, request.team_id).step()) {
    return tl::unexpected(admin_rules::team_not_found());
  }
  StatusChange change{request.team_id, select.text(0), request.status, select.optional_text(1),
                      false};
  if (change.from == request.status) return change;
  const std::string email = select.text(2);
  const std::string team = select.text(3);
  const std::string phone = select.text(4);
  const std::string church = select.text(5);
  select.reset();

  if (change.from == "rejected") {
    // The rejection freed this team's slots; someone may have taken them since. The write lock
    // is held, so no registration can take one between these checks and the update.
    if (db.prepare(kOtherActiveEmail).bind(1, email).bind(2, request.team_id).step()) {
      return tl::unexpected(admin_rules::email_taken());
    }
    if (db.prepare(kOtherActiveTeam).bind(1, team).bind(2, phone).bind(3, request.team_id).step()) {
      return tl::unexpected(admin_rules::team_taken());
    }
    auto count = db.prepare(kOtherActiveChurchCount);
    count.bind(1, church).bind(2, request.team_id).step();
    if (count.int64(0) >= request.teams_per_church) {
      return tl::unexpected(admin_rules::church_full(request.teams_per_church));
    }
  }
  change.reason = request.status == "rejected" && !request.reason.empty()
                      ? std::optional<std::string>(request.reason)
                      : std::nullopt;
  auto update = db.prepare(kUpdateStatus);
  update.bind(1, request.team_id).bind(2, request.status);
  if (change.reason) {
    update.bind(3, *change.reason);
  } else {
    update.bind_null(3);
  }
  update.bind(4, now_iso8601()).step();
  if (update.constraint_failed()) {
    // The checks above run under the write lock; this is a backstop.
    Error error = admin_rules::team_taken();
    error.log_detail = "unique index fired on status change";
    return tl::unexpected(std::move(error));
  }
  insert_audit(
      db, AuditRecord{request.actor, request.status == "confirmed" ? "team.confirm" : "team.reject",
                      request.team_id, change.from, change.to, change.reason});
  if (request.queue_mail) {
    queue_mail(db, request.status == "confirmed" ? kMailConfirmed : kMailRejected, request.team_id,
               change.reason.value_or(""));
  }
  tx.commit();
  change.changed = true;
  return change;
}

tl::expected<SequenceReset, Error> SqliteAdminStore::reset_sequence(const std::string& name,
                                                                    std::int64_t new_number,
                                                                    std::string_view actor) {
  if (new_number < 0) return tl::unexpected(admin_rules::negative_number());
  const std::lock_guard lock(writer_mutex_);
  Transaction tx(*writer_, /*immediate=*/true);
  SequenceReset reset{read_sequence(*writer_, name), new_number, false};
  const SequenceState& before = reset.before;
  if (new_number < before.highest_issued) {
    return tl::unexpected(
        admin_rules::below_issued(before.format, new_number, before.highest_issued));
  }
  if (new_number == before.last_number) return reset;
  set_last_number(*writer_, name, new_number);
  insert_audit(*writer_, AuditRecord{actor, "sequence.reset", name,
                                     std::to_string(before.last_number), std::to_string(new_number),
                                     admin_rules::reset_detail(before.highest_issued, new_number)});
  tx.commit();
  reset.changed = true;
  return reset;
}

AuditPage SqliteAdminStore::audit(int limit, int offset) {
  auto db = readers_.acquire();
  Transaction tx(*db, /*immediate=*/false);
  AuditPage page;
  {
    auto count = db->prepare(kCountAudit);
    count.step();
    page.total = count.int64(0);
  }
  auto select = db->prepare(kListAudit);
  select.bind(1, limit).bind(2, offset);
  while (select.step()) {
    page.entries.push_back(AuditEntry{select.int64(0), select.text(1), select.text(2),
                                      select.text(3), select.text(4), select.optional_text(5),
                                      select.optional_text(6), select.optional_text(7)});
  }
  return page;
}

std::vector<ExportRow> SqliteAdminStore::export_page(const ExportCursor& after, int max_teams) {
  auto db = readers_.acquire();
  auto select = db->prepare(kExportPage);
  select.bind(1, after.sequence_name);
  select.bind(2, after.number);
  select.bind(3, after.team_id);
  select.bind(4, static_cast<std::int64_t>(max_teams));
  std::vector<ExportRow> page;
  while (select.step()) {
    ExportRow row;
    row.team = summary_of(select);
    row.captain = Person{row.team.captain_name, select.text(7), select.text(8), select.text(9)};
    row.vice = Person{select.text(10), select.text(11), select.text(12), select.text(13)};
    row.status_reason = select.optional_text(14);
    if (!select.is_null(15)) {
      row.player = PlayerRecord{select.text(15), static_cast<int>(select.int64(16)),
                                select.text(17), select.text(18)};
    }
    row.sequence_name = select.text(19);
    page.push_back(std::move(row));
  }
  return page;
}

}  // namespace teamreg::storage::sqlite
