#include "admin/service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "admin/auth.hpp"
#include "ids/team_id.hpp"

namespace teamreg::admin {
namespace {

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::size_t utf8_chars(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void log_status_change(const tl::expected<storage::StatusChange, Error>& change,
                       std::string_view actor) {
  if (change && change->changed) {
    spdlog::info("team status changed team_id={} from={} to={} actor={}", change->team_id,
                 change->from, change->to, actor);
  }
}

}  // namespace

AdminService::AdminService(storage::Store& store, storage::AdminStore& admin_store,
                           storage::OutboxStore& outbox, AdminConfig config)
    : store_(store), admin_store_(admin_store), outbox_(outbox), config_(std::move(config)) {}

tl::expected<std::string, Error> AdminService::create_token(std::string_view name,
                                                            std::string_view actor) {
  if (!valid_token_name(name)) {
    return tl::unexpected(validation_error(
        "name",
        "Token names are 1-64 characters A-Z, a-z, 0-9, '.', '_' or '-' and not env, cli or "
        "system*"));
  }
  std::string token = generate_token();
  if (auto stored = admin_store_.create_token(name, token_hash(token), actor); !stored) {
    return tl::unexpected(stored.error());
  }
  spdlog::info("admin token created token={} actor={}", name, actor);
  return token;
}

std::vector<storage::AdminTokenInfo> AdminService::list_tokens() {
  return admin_store_.list_tokens();
}

tl::expected<void, Error> AdminService::revoke_token(std::string_view name,
                                                     std::string_view actor) {
  if (!admin_store_.revoke_token(name, actor)) {
    return tl::unexpected(
        Error{ErrorCode::kNotFound, fmt::format("No active token is named '{}'", name), {}, {}});
  }
  spdlog::info("admin token revoked token={} actor={}", name, actor);
  return {};
}

tl::expected<storage::AdminTeamPage, Error> AdminService::list_teams(
    const storage::AdminTeamQuery& query) {
  if (!query.status.empty() && query.status != "pending" && query.status != "confirmed" &&
      query.status != "rejected") {
    return tl::unexpected(
        validation_error("status", "status must be pending, confirmed or rejected"));
  }
  if (utf8_chars(query.search) > kMaxSearchChars) {
    return tl::unexpected(
        validation_error("q", fmt::format("q must be at most {} characters", kMaxSearchChars)));
  }
  storage::AdminTeamQuery trimmed = query;
  trimmed.search = std::string(trim(query.search));
  return admin_store_.list_teams(trimmed);
}

std::optional<storage::TeamRecord> AdminService::team(std::string_view team_id) {
  return store_.find_team(team_id);
}

std::optional<storage::PlayerDetail> AdminService::player(std::string_view player_id) {
  return admin_store_.find_player(player_id);
}

std::optional<storage::DocumentRecord> AdminService::document(std::string_view team_id,
                                                              std::string_view field) {
  return admin_store_.find_document(team_id, field);
}

tl::expected<storage::StatusChange, Error> AdminService::confirm(std::string_view team_id,
                                                                 std::string_view actor) {
  auto change = admin_store_.set_status(storage::StatusRequest{std::string(team_id),
                                                               "confirmed",
                                                               {},
                                                               std::string(actor),
                                                               config_.teams_per_church,
                                                               config_.queue_mail});
  log_status_change(change, actor);
  notify_if_queued(change);
  return change;
}

tl::expected<storage::StatusChange, Error> AdminService::reject(std::string_view team_id,
                                                                std::string_view reason,
                                                                std::string_view actor) {
  const std::string_view trimmed = trim(reason);
  if (utf8_chars(trimmed) > kMaxReasonChars) {
    return tl::unexpected(validation_error(
        "reason", fmt::format("reason must be at most {} characters", kMaxReasonChars)));
  }
  auto change = admin_store_.set_status(
      storage::StatusRequest{std::string(team_id), "rejected", std::string(trimmed),
                             std::string(actor), config_.teams_per_church, config_.queue_mail});
  log_status_change(change, actor);
  notify_if_queued(change);
  return change;
}

void AdminService::notify_if_queued(const tl::expected<storage::StatusChange, Error>& change) {
  if (config_.queue_mail && change && change->changed && config_.mail_queued) {
    config_.mail_queued();
  }
}

tl::expected<storage::OutboxPage, Error> AdminService::outbox(std::string_view status, int limit,
                                                              int offset) {
  if (!status.empty() && status != "pending" && status != "sent" && status != "dead") {
    return tl::unexpected(validation_error("status", "status must be pending, sent or dead"));
  }
  return outbox_.list(status, limit, offset);
}

tl::expected<bool, Error> AdminService::retry_mail(std::int64_t id, std::string_view actor) {
  switch (outbox_.retry(id, actor)) {
    case storage::RetryOutcome::kRequeued:
      spdlog::info("mail requeued outbox_id={} actor={}", id, actor);
      if (config_.mail_queued) config_.mail_queued();
      return true;
    case storage::RetryOutcome::kAlreadyPending: return false;
    case storage::RetryOutcome::kAlreadySent:
      return tl::unexpected(Error{ErrorCode::kMailAlreadySent,
                                  "This mail was already sent; it is not sent twice",
                                  "id",
                                  {}});
    case storage::RetryOutcome::kNotFound: break;
  }
  return tl::unexpected(Error{ErrorCode::kNotFound, "No such mail in the outbox", "id", {}});
}

SequenceView AdminService::view_of(const storage::SequenceState& state,
                                   std::int64_t current) const {
  return SequenceView{current, ids::format_team_id(state.format, current + 1),
                      state.highest_issued};
}

SequenceView AdminService::sequence() {
  const storage::SequenceState state = store_.sequence(config_.sequence_name);
  return view_of(state, state.last_number);
}

tl::expected<ResetResult, Error> AdminService::reset_sequence(std::int64_t new_number,
                                                              std::string_view actor) {
  if (new_number < 0) {
    return tl::unexpected(validation_error("new_number", "new_number must not be negative"));
  }
  if (new_number > kMaxSequenceNumber) {
    return tl::unexpected(validation_error(
        "new_number", fmt::format("new_number must be at most {}", kMaxSequenceNumber)));
  }
  auto reset = admin_store_.reset_sequence(config_.sequence_name, new_number, actor);
  if (!reset) return tl::unexpected(reset.error());
  const storage::SequenceState& before = reset->before;
  ResetResult result{before.last_number, view_of(before, new_number), reset->changed,
                     std::max<std::int64_t>(0, new_number - before.highest_issued)};
  if (reset->changed) {
    spdlog::warn("sequence reset name={} from={} to={} next={} skipped={} actor={}",
                 config_.sequence_name, before.last_number, new_number, result.now.next_team_id,
                 result.skipped_numbers, actor);
  }
  return result;
}

SyncResult AdminService::sync_sequence(std::string_view actor) {
  const storage::SequenceState before = store_.sync_sequence(config_.sequence_name, actor);
  const std::int64_t current = std::max(before.last_number, before.highest_issued);
  SyncResult result{current != before.last_number, before.last_number, view_of(before, current)};
  if (result.changed) {
    spdlog::warn("sequence synchronized name={} from={} current={} next={} actor={}",
                 config_.sequence_name, before.last_number, current, result.now.next_team_id,
                 actor);
  }
  return result;
}

storage::AuditPage AdminService::audit(int limit, int offset) {
  return admin_store_.audit(limit, offset);
}

CsvExport AdminService::export_csv() {
  return CsvExport(admin_store_);
}

}  // namespace teamreg::admin
