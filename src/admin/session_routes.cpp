#include "admin/session_routes.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "admin/web_session.hpp"

namespace teamreg::admin {
namespace {

namespace json = boost::json;

http::Response error(const Error& e, const http::Request& request) {
  return http::error_response(e, request.request_id);
}

Error cross_origin() {
  return Error{ErrorCode::kCsrfRejected,
               "Requests with a session need to come from this site's own pages (Origin or "
               "Referer of this origin)",
               {},
               {}};
}

Error not_logged_in() {
  return Error{ErrorCode::kUnauthorized, "Not logged in", {}, {}};
}

/// {"username", "password"}, both strings; nullopt for anything else.
std::optional<std::pair<std::string, std::string>> credentials_of(std::string_view body) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  const json::object* object = ec ? nullptr : parsed.if_object();
  if (object == nullptr) return std::nullopt;
  const json::value* username = object->if_contains("username");
  const json::value* password = object->if_contains("password");
  if (username == nullptr || password == nullptr || !username->is_string() ||
      !password->is_string()) {
    return std::nullopt;
  }
  return std::pair{std::string(username->get_string()), std::string(password->get_string())};
}

json::object user_json(const SessionUser& user) {
  return json::object{{"name", user.name}, {"role", user.role}};
}

/// Session answers name a person: no cache may keep them.
http::Response no_store(http::Response response) {
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace

SessionRoutes::SessionRoutes(AccountService& accounts, Authenticator& auth)
    : accounts_(accounts), auth_(auth) {}

void SessionRoutes::add_routes(http::Router& router) {
  router.add("POST", "/admin/session",
             [this](const http::Request& request) { return no_store(login(request)); });
  router.add("GET", "/admin/session",
             [this](const http::Request& request) { return no_store(who(request)); });
  router.add("DELETE", "/admin/session",
             [this](const http::Request& request) { return no_store(logout(request)); });
}

http::Response SessionRoutes::login(const http::Request& request) {
  // Login CSRF (a foreign page logging the browser in as someone else): refused when the browser
  // says it came from elsewhere. Scripts send neither header and are let through.
  if (!not_cross_origin(request)) return error(cross_origin(), request);
  const auto credentials = credentials_of(request.body);
  tl::expected<NewSession, LoginFailure> session = tl::unexpected(LoginFailure::kMalformed);
  if (credentials) session = accounts_.login(credentials->first, credentials->second);
  if (!session) {
    const LoginFailure failure = session.error();
    if (failure == LoginFailure::kBusy) {
      spdlog::warn("admin login deferred request_id={} client={} reason=busy", request.request_id,
                   request.client_address);
      return error(Error{ErrorCode::kServiceUnavailable,
                         "Too many logins at once; please retry in a moment",
                         {},
                         {}},
                   request);
    }
    // Only an existing user's name is logged: a password typed into the name field is not.
    const bool known =
        failure == LoginFailure::kWrongPassword || failure == LoginFailure::kDisabled;
    return error(auth_.login_failed(request, login_failure_name(failure),
                                    known ? std::string_view(credentials->first) : ""),
                 request);
  }
  spdlog::info("admin login request_id={} client={} user={} role={}", request.request_id,
               request.client_address, session->user.name, session->user.role);
  http::Response response = http::json_response(
      200, json::serialize(json::object{{"success", true},
                                        {"user", user_json(session->user)},
                                        {"expires_in", accounts_.idle_timeout().count()}}));
  response.headers.emplace_back("Set-Cookie",
                                session_cookie_header(session->id, request.scheme == "https"));
  return response;
}

http::Response SessionRoutes::who(const http::Request& request) {
  const auto cookie = session_cookie(request);
  const auto user = cookie ? accounts_.session(*cookie) : std::nullopt;
  if (!user) return error(not_logged_in(), request);
  return http::json_response(
      200, json::serialize(json::object{{"success", true},
                                        {"user", user_json(*user)},
                                        {"expires_in", accounts_.idle_timeout().count()}}));
}

http::Response SessionRoutes::logout(const http::Request& request) {
  const bool secure = request.scheme == "https";
  if (const auto cookie = session_cookie(request)) {
    // Only a same-origin page may end a session; a stale or unknown cookie is just cleared.
    if (accounts_.session(*cookie)) {
      if (!same_origin(request)) return error(cross_origin(), request);
      if (const auto user = accounts_.logout(*cookie)) {
        spdlog::info("admin logout request_id={} client={} user={}", request.request_id,
                     request.client_address, user->name);
      }
    }
  }
  http::Response response =
      http::json_response(200, json::serialize(json::object{{"success", true}}));
  response.headers.emplace_back("Set-Cookie", cleared_session_cookie_header(secure));
  return response;
}

}  // namespace teamreg::admin
