#include "admin/routes.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <system_error>

#include "admin/response_bodies.hpp"

namespace teamreg::admin {
namespace {

namespace json = boost::json;

constexpr int kMaxPageSize = 1000;
constexpr int kMaxOffset = 1'000'000'000;

/// CSP of a document shown inline: `sandbox` gives it an opaque origin with no scripts, forms or
/// popups, so even a crafted PDF cannot act as the console; only the console may frame it.
/// Checked with Chromium 156: its PDF viewer still renders a sandboxed PDF, both inside the
/// console's <iframe> and opened on its own.
constexpr std::string_view kInlineDocumentPolicy = "sandbox; frame-ancestors 'self'";

http::Response error(const Error& e, const http::Request& request) {
  return http::error_response(e, request.request_id);
}

Error not_found(ErrorCode code, std::string message) {
  return Error{code, std::move(message), {}, {}};
}

std::string encode_segment(std::string_view segment) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (const char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

/// A decoded path parameter; nullopt when it holds control characters (NUL included), which no
/// team ID, player ID or field name has and which a database driver might cut short.
std::optional<std::string> path_param(const http::Request& request, const std::string& name) {
  std::string value = request.path_params.at(name);  // decoded by the router
  const bool control = std::any_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
  });
  if (control) return std::nullopt;
  return value;
}

bool has_field(const std::vector<std::string>& fields, std::string_view field) {
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

json::value file_value(std::string_view team_id, const std::vector<std::string>& fields,
                       std::string_view field) {
  if (!has_field(fields, field)) return nullptr;
  return json::string(document_url(team_id, field));
}

std::vector<std::string> field_names(const std::vector<storage::DocumentRecord>& documents) {
  std::vector<std::string> fields;
  fields.reserve(documents.size());
  for (const auto& d : documents) fields.push_back(d.field);
  return fields;
}

std::string aadhar_field(int position) {
  return fmt::format("player_{}_aadhar_file", position - 1);
}

std::string subscription_field(int position) {
  return fmt::format("player_{}_subscription_file", position - 1);
}

json::object person_json(const Person& person) {
  return json::object{{"name", person.name},
                      {"phone", person.phone},
                      {"email", person.email},
                      {"whatsapp", person.whatsapp}};
}

json::value optional_json(const std::optional<std::string>& value) {
  if (!value) return nullptr;
  return json::string(*value);
}

json::object sequence_json(const SequenceView& view) {
  return json::object{{"success", true},
                      {"current_number", view.current_number},
                      {"next_team_id", view.next_team_id},
                      {"highest_issued", view.highest_issued}};
}

/// Only the kinds the upload recognised by their bytes may be shown in the browser; anything else
/// (there is nothing else today) stays a download.
bool previewable(std::string_view content_type) {
  return content_type == "application/pdf" || content_type == "image/png" ||
         content_type == "image/jpeg";
}

std::string_view extension_of(std::string_view content_type) {
  if (content_type == "application/pdf") return ".pdf";
  if (content_type == "image/png") return ".png";
  if (content_type == "image/jpeg") return ".jpg";
  return "";
}

}  // namespace

std::string sequence_body(const SequenceView& view) {
  return json::serialize(sequence_json(view));
}

std::string reset_body(const ResetResult& result) {
  json::object body = sequence_json(result.now);
  body["changed"] = result.changed;
  body["previous_number"] = result.previous_number;
  body["skipped_numbers"] = result.skipped_numbers;
  return json::serialize(body);
}

std::string sync_body(const SyncResult& result) {
  return json::serialize(json::object{{"success", true},
                                      {"changed", result.changed},
                                      {"previous_number", result.previous_number},
                                      {"sequence_number", result.now.current_number},
                                      {"next_team_id", result.now.next_team_id}});
}

std::string document_url(std::string_view team_id, std::string_view field) {
  return fmt::format("/admin/teams/{}/files/{}", encode_segment(team_id), encode_segment(field));
}

std::string download_name(std::string_view team_id, std::string_view field,
                          std::string_view content_type) {
  std::string name = fmt::format("{}_{}{}", team_id, field, extension_of(content_type));
  for (char& c : name) {
    const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    if (!safe) c = '_';
  }
  return name;
}

AdminRoutes::AdminRoutes(AdminService& service, AdminGuard& guard, files::BlobStore& blobs)
    : service_(service), guard_(guard), blobs_(blobs) {}

void AdminRoutes::add_routes(http::Router& router) {
  const auto read = [this](auto method) { return guard_.reader(this, method); };
  const auto write = [this](auto method) { return guard_.writer(this, method); };
  router.add("GET", "/admin/teams", read(&AdminRoutes::list_teams));
  router.add("GET", "/admin/teams/{team_id}", read(&AdminRoutes::team_detail));
  router.add("GET", "/admin/players/{player_id}", read(&AdminRoutes::player_detail));
  router.add("PUT", "/admin/teams/{team_id}/confirm", write(&AdminRoutes::confirm));
  router.add("PUT", "/admin/teams/{team_id}/reject", write(&AdminRoutes::reject));
  router.add("GET", "/admin/teams/{team_id}/files/{name}", read(&AdminRoutes::document));
  router.add("GET", "/admin/sequence/current", read(&AdminRoutes::sequence_current));
  router.add("POST", "/admin/sequence/reset", write(&AdminRoutes::sequence_reset));
  router.add("POST", "/admin/sequence/sync", write(&AdminRoutes::sequence_sync));
  router.add("GET", "/admin/export.csv", read(&AdminRoutes::export_csv));
  router.add("GET", "/admin/audit", read(&AdminRoutes::audit));
  router.add("GET", "/admin/outbox", read(&AdminRoutes::outbox));
  router.add("POST", "/admin/outbox/{id}/retry", write(&AdminRoutes::retry_mail));
}

http::Response AdminRoutes::list_teams(const http::Request& request) {
  const auto limit = http::int_query_param(request, "limit", kMaxPageSize, 1, kMaxPageSize);
  if (!limit) return error(limit.error(), request);
  const auto offset = http::int_query_param(request, "offset", 0, 0, kMaxOffset);
  if (!offset) return error(offset.error(), request);
  storage::AdminTeamQuery query;
  query.status = request.query_param("status").value_or("");
  query.search = request.query_param("q").value_or("");
  query.limit = *limit;
  query.offset = *offset;
  const auto page = service_.list_teams(query);
  if (!page) return error(page.error(), request);
  json::array data;
  for (const auto& row : page->teams) {
    const auto& t = row.summary;
    data.push_back(json::object{
        {"teamId", t.team_id},
        {"teamName", t.team_name},
        {"churchName", t.church_name},
        {"captainName", row.captain.name},
        {"captainPhone", row.captain.phone},
        {"captainEmail", row.captain.email},
        {"viceCaptainName", row.vice.name},
        {"viceCaptainPhone", row.vice.phone},
        {"viceCaptainEmail", row.vice.email},
        {"playerCount", row.player_count},
        {"registrationDate", t.registration_date},
        {"registrationStatus", t.status},
        {"paymentReceipt", file_value(t.team_id, row.document_fields, "payment_receipt")},
        {"pastorLetter", file_value(t.team_id, row.document_fields, "pastor_letter")},
        {"groupPhoto", file_value(t.team_id, row.document_fields, "group_photo")},
    });
  }
  return http::json_response(
      200, json::serialize(
               json::object{{"success", true}, {"data", std::move(data)}, {"total", page->total}}));
}

http::Response AdminRoutes::team_detail(const http::Request& request) {
  const auto team_id = path_param(request, "team_id");
  const auto team = team_id ? service_.team(*team_id) : std::nullopt;
  if (!team) return error(not_found(ErrorCode::kTeamNotFound, "Team not found"), request);
  const auto& t = team->summary;
  const auto fields = field_names(team->documents);
  json::array players;
  for (const auto& p : team->players) {
    players.push_back(json::object{
        {"playerId", p.player_id},
        {"name", p.name},
        {"role", p.role},
        {"aadharFile", file_value(t.team_id, fields, aadhar_field(p.position))},
        {"subscriptionFile", file_value(t.team_id, fields, subscription_field(p.position))},
    });
  }
  json::object team_json{
      {"teamId", t.team_id},
      {"teamName", t.team_name},
      {"churchName", t.church_name},
      {"captain", person_json(team->captain)},
      {"viceCaptain", person_json(team->vice)},
      {"paymentReceipt", file_value(t.team_id, fields, "payment_receipt")},
      {"pastorLetter", file_value(t.team_id, fields, "pastor_letter")},
      {"groupPhoto", file_value(t.team_id, fields, "group_photo")},
      {"registrationDate", t.registration_date},
      {"registrationStatus", t.status},
  };
  return http::json_response(
      200,
      json::serialize(json::object{
          {"success", true},
          {"data", json::object{{"team", std::move(team_json)}, {"players", std::move(players)}}},
      }));
}

http::Response AdminRoutes::player_detail(const http::Request& request) {
  const auto player_id = path_param(request, "player_id");
  const auto player = player_id ? service_.player(*player_id) : std::nullopt;
  if (!player) return error(not_found(ErrorCode::kPlayerNotFound, "Player not found"), request);
  const auto& p = player->player;
  return http::json_response(
      200, json::serialize(json::object{
               {"success", true},
               {"data",
                json::object{
                    {"playerId", p.player_id},
                    {"name", p.name},
                    {"role", p.role},
                    {"aadharFile", file_value(player->team_id, player->document_fields,
                                              aadhar_field(p.position))},
                    {"subscriptionFile", file_value(player->team_id, player->document_fields,
                                                    subscription_field(p.position))},
                    {"teamId", player->team_id},
                    {"teamName", player->team_name},
                    {"churchName", player->church_name},
                }},
           }));
}

std::string_view AdminRoutes::email_notification(const storage::StatusChange& change) const {
  // "none": mail is on, but a change to the status a team already had sends nothing.
  if (!service_.queues_mail()) return "disabled";
  return change.changed ? "queued" : "none";
}

http::Response AdminRoutes::confirm(const http::Request& request, const std::string& actor) {
  const auto team_id = path_param(request, "team_id");
  if (!team_id) return error(not_found(ErrorCode::kTeamNotFound, "Team not found"), request);
  const auto change = service_.confirm(*team_id, actor);
  if (!change) return error(change.error(), request);
  const bool already = !change->changed;
  return http::json_response(
      200, json::serialize(json::object{
               {"success", true},
               {"message", already ? fmt::format("Team {} was already confirmed", change->team_id)
                                   : fmt::format("Team {} confirmed", change->team_id)},
               {"team_id", change->team_id},
               {"registration_status", "confirmed"},
               {"email_notification", email_notification(*change)},
               {"alreadyConfirmed", already},
           }));
}

http::Response AdminRoutes::reject(const http::Request& request, const std::string& actor) {
  std::string reason;
  if (request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    boost::system::error_code ec;
    const json::value body = json::parse(request.body, ec);
    const json::object* object = ec ? nullptr : body.if_object();
    const json::value* value = object != nullptr ? object->if_contains("reason") : nullptr;
    if (object == nullptr || (value != nullptr && !value->is_string() && !value->is_null())) {
      return error(validation_error("reason",
                                    "The body must be empty or a JSON object like "
                                    "{\"reason\": \"...\"}"),
                   request);
    }
    if (value != nullptr && value->is_string()) reason = std::string(value->get_string());
  }
  const auto team_id = path_param(request, "team_id");
  if (!team_id) return error(not_found(ErrorCode::kTeamNotFound, "Team not found"), request);
  const auto change = service_.reject(*team_id, reason, actor);
  if (!change) return error(change.error(), request);
  const bool already = !change->changed;
  return http::json_response(
      200, json::serialize(json::object{
               {"success", true},
               {"message", already ? fmt::format("Team {} was already rejected", change->team_id)
                                   : fmt::format("Team {} rejected", change->team_id)},
               {"team_id", change->team_id},
               {"registration_status", "rejected"},
               {"reason", optional_json(change->reason)},
               {"email_notification", email_notification(*change)},
               {"alreadyRejected", already},
           }));
}

http::Response AdminRoutes::document(const http::Request& request) {
  // The storage key comes from the database, found by team and field: nothing the client sends
  // ever becomes part of a path.
  const auto team_param = path_param(request, "team_id");
  const auto field_param = path_param(request, "name");
  if (!team_param) return error(not_found(ErrorCode::kTeamNotFound, "Team not found"), request);
  const std::string& team_id = *team_param;
  const std::string field = field_param.value_or("");
  const auto record = field_param ? service_.document(team_id, field) : std::nullopt;
  if (!record) {
    if (!service_.team(team_id)) {
      return error(not_found(ErrorCode::kTeamNotFound, "Team not found"), request);
    }
    return error(not_found(ErrorCode::kNotFound, "This team has no such document"), request);
  }
  // Opened here, on the worker pool, and then streamed piece by piece: no network thread waits
  // on the disk or the object store, and no document is held whole in memory.
  std::unique_ptr<files::BlobReader> reader;
  try {
    reader = blobs_.open(record->storage_key);
  } catch (const std::exception& e) {
    spdlog::error("document unreadable team_id={} field={} key={} request_id={} error=\"{}\"",
                  team_id, field, record->storage_key, request.request_id, e.what());
    return error(
        Error{ErrorCode::kServiceUnavailable, "The document cannot be read right now", {}, {}},
        request);
  }
  if (!reader) {
    spdlog::error("document missing from storage team_id={} field={} key={} request_id={}", team_id,
                  field, record->storage_key, request.request_id);
    return error(not_found(ErrorCode::kNotFound, "The document is not available"), request);
  }
  http::Response response;
  response.status = 200;
  response.content_type = record->content_type;
  response.body_source = document_body(std::move(reader));
  // ?inline=1 is the console's preview (an <img> or an <iframe>); the name stays the safe
  // download name either way.
  const bool show_inline =
      request.query_param("inline") == "1" && previewable(record->content_type);
  response.headers.emplace_back(
      "Content-Disposition",
      fmt::format("{}; filename=\"{}\"", show_inline ? "inline" : "attachment",
                  download_name(team_id, record->field, record->content_type)));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (show_inline) {
    response.headers.emplace_back("Content-Security-Policy", std::string(kInlineDocumentPolicy));
  }
  return response;
}

http::Response AdminRoutes::sequence_current(const http::Request& /*request*/) {
  return http::json_response(200, sequence_body(service_.sequence()));
}

http::Response AdminRoutes::sequence_reset(const http::Request& request, const std::string& actor) {
  const auto raw = request.query_param("new_number");
  if (!raw || raw->empty()) {
    return error(validation_error("new_number", "new_number is required"), request);
  }
  std::int64_t number = 0;
  const auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), number);
  if (ec != std::errc{} || end != raw->data() + raw->size()) {
    return error(validation_error("new_number", "new_number must be a whole number"), request);
  }
  const auto reset = service_.reset_sequence(number, actor);
  if (!reset) return error(reset.error(), request);
  return http::json_response(200, reset_body(*reset));
}

http::Response AdminRoutes::sequence_sync(const http::Request& /*request*/,
                                          const std::string& actor) {
  return http::json_response(200, sync_body(service_.sync_sequence(actor)));
}

http::Response AdminRoutes::export_csv(const http::Request& /*request*/) {
  http::Response response;
  response.status = 200;
  response.content_type = "text/csv; charset=utf-8";
  response.body_source = csv_body(service_.export_csv());
  response.headers.emplace_back("Content-Disposition", "attachment; filename=\"teams.csv\"");
  return response;
}

http::Response AdminRoutes::audit(const http::Request& request) {
  const auto limit = http::int_query_param(request, "limit", 100, 1, kMaxPageSize);
  if (!limit) return error(limit.error(), request);
  const auto offset = http::int_query_param(request, "offset", 0, 0, kMaxOffset);
  if (!offset) return error(offset.error(), request);
  const auto page = service_.audit(*limit, *offset);
  json::array data;
  for (const auto& e : page.entries) {
    data.push_back(json::object{
        {"id", e.id},
        {"at", e.at},
        {"actor", e.actor},
        {"action", e.action},
        {"subject", e.subject},
        {"from", optional_json(e.from_value)},
        {"to", optional_json(e.to_value)},
        {"detail", optional_json(e.detail)},
    });
  }
  return http::json_response(
      200, json::serialize(
               json::object{{"success", true}, {"data", std::move(data)}, {"total", page.total}}));
}

http::Response AdminRoutes::outbox(const http::Request& request) {
  const auto limit = http::int_query_param(request, "limit", 100, 1, kMaxPageSize);
  if (!limit) return error(limit.error(), request);
  const auto offset = http::int_query_param(request, "offset", 0, 0, kMaxOffset);
  if (!offset) return error(offset.error(), request);
  const auto page = service_.outbox(request.query_param("status").value_or(""), *limit, *offset);
  if (!page) return error(page.error(), request);
  json::array data;
  for (const auto& row : page->rows) {
    data.push_back(json::object{
        {"id", row.id},
        {"kind", row.kind},
        {"team_id", row.team_id},
        {"recipient", row.recipient},
        {"cc", row.cc},
        {"status", row.status},
        {"attempts", row.attempts},
        {"created_at", row.created_at},
        {"next_attempt_at", optional_json(row.next_attempt_at)},
        {"sent_at", optional_json(row.sent_at)},
        {"last_error", optional_json(row.last_error)},
    });
  }
  return http::json_response(
      200, json::serialize(
               json::object{{"success", true}, {"data", std::move(data)}, {"total", page->total}}));
}

http::Response AdminRoutes::retry_mail(const http::Request& request, const std::string& actor) {
  const std::string raw = request.path_params.at("id");
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
  if (ec != std::errc{} || end != raw.data() + raw.size() || id < 1) {
    return error(not_found(ErrorCode::kNotFound, "No such mail in the outbox"), request);
  }
  const auto changed = service_.retry_mail(id, actor);
  if (!changed) return error(changed.error(), request);
  return http::json_response(
      200, json::serialize(json::object{
               {"success", true}, {"id", id}, {"status", "pending"}, {"changed", *changed}}));
}

}  // namespace teamreg::admin
