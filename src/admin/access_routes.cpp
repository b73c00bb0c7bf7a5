#include "admin/access_routes.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <map>
#include <optional>

namespace teamreg::admin {
namespace {

namespace json = boost::json;

http::Response error(const Error& e, const http::Request& request) {
  return http::error_response(e, request.request_id);
}

/// A user or token name from the path; anything no name can be (control characters included,
/// which a database driver might cut short) is answered like a name nobody has.
std::optional<std::string> name_param(const http::Request& request) {
  const std::string& name = request.path_params.at("name");  // decoded by the router
  if (!valid_token_name(name)) return std::nullopt;
  return name;
}

Error no_such(std::string_view what) {
  return Error{ErrorCode::kNotFound, fmt::format("No active {} has that name", what), {}, {}};
}

json::value optional_json(const std::optional<std::string>& value) {
  if (!value) return nullptr;
  return json::string(*value);
}

/// The string fields of a JSON object body. Every field in `required` must be there; a field
/// that is there must be a string. The error names the field (or `body` for no object at all).
tl::expected<std::map<std::string, std::string, std::less<>>, Error> string_fields(
    const http::Request& request, std::initializer_list<std::string_view> required,
    std::initializer_list<std::string_view> optional) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(request.body, ec);
  const json::object* object = ec ? nullptr : parsed.if_object();
  if (object == nullptr) {
    return tl::unexpected(validation_error("body", "The body must be a JSON object"));
  }
  std::map<std::string, std::string, std::less<>> fields;
  const auto take = [&](std::string_view name, bool needed) -> std::optional<Error> {
    const json::value* value = object->if_contains(name);
    if (value == nullptr || value->is_null()) {
      if (!needed) return std::nullopt;
      return validation_error(std::string(name), fmt::format("{} is required", name));
    }
    if (!value->is_string()) {
      return validation_error(std::string(name), fmt::format("{} must be a string", name));
    }
    fields.emplace(std::string(name), std::string(value->get_string()));
    return std::nullopt;
  };
  for (const auto name : required) {
    if (auto problem = take(name, true)) return tl::unexpected(std::move(*problem));
  }
  for (const auto name : optional) {
    if (auto problem = take(name, false)) return tl::unexpected(std::move(*problem));
  }
  return fields;
}

}  // namespace

AccessRoutes::AccessRoutes(AdminService& service, AccountService& accounts, AdminGuard& guard)
    : service_(service), accounts_(accounts), guard_(guard) {}

void AccessRoutes::add_routes(http::Router& router) {
  // Reads too need Access::kManage: who may use the API is an admin's business alone.
  const auto read = [this](auto method) { return guard_.reader(this, method, Access::kManage); };
  const auto write = [this](auto method) { return guard_.writer(this, method, Access::kManage); };
  router.add("GET", "/admin/tokens", read(&AccessRoutes::list_tokens));
  router.add("POST", "/admin/tokens", write(&AccessRoutes::create_token));
  router.add("DELETE", "/admin/tokens/{name}", write(&AccessRoutes::revoke_token));
  router.add("GET", "/admin/users", read(&AccessRoutes::list_users));
  router.add("POST", "/admin/users", write(&AccessRoutes::create_user));
  router.add("POST", "/admin/users/{name}/disable", write(&AccessRoutes::disable_user));
  router.add("POST", "/admin/users/{name}/password", write(&AccessRoutes::set_password));
}

http::Response AccessRoutes::list_tokens(const http::Request& /*request*/) {
  json::array data;
  for (const auto& t : service_.list_tokens()) {
    data.push_back(json::object{
        {"name", t.name},
        {"active", !t.revoked_at.has_value()},
        {"created_at", t.created_at},
        {"last_used_at", optional_json(t.last_used_at)},
        {"revoked_at", optional_json(t.revoked_at)},
    });
  }
  return http::json_response(
      200, json::serialize(json::object{{"success", true}, {"data", std::move(data)}}));
}

http::Response AccessRoutes::create_token(const http::Request& request, const std::string& actor) {
  const auto fields = string_fields(request, {"name"}, {});
  if (!fields) return error(fields.error(), request);
  const std::string& name = fields->at("name");
  const auto token = service_.create_token(name, actor);
  if (!token) return error(token.error(), request);
  return http::json_response(201,
                             json::serialize(json::object{
                                 {"success", true},
                                 {"name", name},
                                 {"token", *token},
                                 {"message", "Store this token now: it is shown only this once"},
                             }));
}

http::Response AccessRoutes::revoke_token(const http::Request& request, const std::string& actor) {
  const auto param = name_param(request);
  if (!param) return error(no_such("token"), request);
  const std::string& name = *param;
  if (auto revoked = service_.revoke_token(name, actor); !revoked) {
    return error(revoked.error(), request);
  }
  return http::json_response(
      200, json::serialize(json::object{{"success", true}, {"name", name}, {"revoked", true}}));
}

http::Response AccessRoutes::list_users(const http::Request& /*request*/) {
  json::array data;
  for (const auto& u : accounts_.list_users()) {
    data.push_back(json::object{
        {"name", u.name},
        {"role", u.role},
        {"active", !u.disabled_at.has_value()},
        {"created_at", u.created_at},
        {"password_changed_at", u.password_changed_at},
        {"last_seen_at", optional_json(u.last_seen_at)},
        {"disabled_at", optional_json(u.disabled_at)},
    });
  }
  return http::json_response(
      200, json::serialize(json::object{{"success", true}, {"data", std::move(data)}}));
}

http::Response AccessRoutes::create_user(const http::Request& request, const std::string& actor) {
  const auto fields = string_fields(request, {"name", "password"}, {"role"});
  if (!fields) return error(fields.error(), request);
  const std::string& name = fields->at("name");
  const auto role = fields->find("role");
  const std::string_view role_name = role != fields->end() ? role->second : kRoleAdmin;
  if (auto created = accounts_.create_user(name, role_name, fields->at("password"), actor);
      !created) {
    return error(created.error(), request);
  }
  return http::json_response(
      201, json::serialize(json::object{
               {"success", true}, {"user", json::object{{"name", name}, {"role", role_name}}}}));
}

http::Response AccessRoutes::disable_user(const http::Request& request, const std::string& actor) {
  const auto param = name_param(request);
  if (!param) return error(no_such("user"), request);
  const std::string& name = *param;
  // An admin who disables their own account is locked out of the console at once; another
  // admin (or the teamreg command on the server) has to do it. The actor of a token is the
  // token's name, which no user can have.
  if (name == actor) {
    return error(validation_error("name",
                                  "You cannot disable the account you are logged in with; ask "
                                  "another admin, or use the teamreg command on the server"),
                 request);
  }
  if (auto disabled = accounts_.disable_user(name, actor); !disabled) {
    return error(disabled.error(), request);
  }
  return http::json_response(
      200, json::serialize(json::object{{"success", true}, {"name", name}, {"disabled", true}}));
}

http::Response AccessRoutes::set_password(const http::Request& request, const std::string& actor) {
  const auto fields = string_fields(request, {"password"}, {});
  if (!fields) return error(fields.error(), request);
  const auto param = name_param(request);
  if (!param) return error(no_such("user"), request);
  const std::string& name = *param;
  if (auto changed = accounts_.set_password(name, fields->at("password"), actor); !changed) {
    return error(changed.error(), request);
  }
  return http::json_response(
      200,
      json::serialize(json::object{{"success", true}, {"name", name}, {"sessions_ended", true}}));
}

}  // namespace teamreg::admin
