#include "admin/guard.hpp"

#include <spdlog/spdlog.h>

#include "admin/web_session.hpp"

namespace teamreg::admin {

AdminGuard::AdminGuard(Authenticator& auth, AccountService& accounts)
    : auth_(auth), accounts_(accounts) {}

tl::expected<std::string, Error> AdminGuard::admit(const http::Request& request, Access access) {
  // A bearer token (or no credential at all) is checked exactly as before sessions existed.
  const auto cookie = session_cookie(request);
  if (request.header("authorization") || !cookie) return auth_.authenticate(request);
  const auto user = accounts_.session(*cookie);
  if (!user) {
    // Not a failure for the per-address limit: browsers send a stale cookie after a timeout,
    // and a session id (256 random bits) is not guessed.
    spdlog::info("admin session rejected request_id={} client={} reason=unknown_ended_or_idle",
                 request.request_id, request.client_address);
    return tl::unexpected(
        Error{ErrorCode::kUnauthorized, "Your session has ended; please log in again", {}, {}});
  }
  if (changes_state(request.method) && !same_origin(request)) {
    // A cookie goes with every request the browser makes, whichever page asks for it.
    spdlog::warn("admin request refused request_id={} client={} user={} reason=cross_origin",
                 request.request_id, request.client_address, user->name);
    return tl::unexpected(Error{ErrorCode::kCsrfRejected,
                                "Changes need a request from this site's own pages (Origin or "
                                "Referer of this origin)",
                                {},
                                {}});
  }
  if (access != Access::kRead && !user->may_change()) {
    spdlog::info("admin request refused request_id={} client={} user={} reason=role role={}",
                 request.request_id, request.client_address, user->name, user->role);
    return tl::unexpected(Error{ErrorCode::kForbidden,
                                access == Access::kManage
                                    ? "Only admins may see and manage users and tokens"
                                    : "Your account may view but not change anything",
                                {},
                                {}});
  }
  return user->name;
}

http::Handler AdminGuard::guarded(Action action, Access access) {
  return [this, action = std::move(action), access](const http::Request& request) {
    auto actor = admit(request, access);
    http::Response response;
    if (!actor) {
      response = http::error_response(actor.error(), request.request_id);
      if (actor.error().code == ErrorCode::kUnauthorized) {
        response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"teamreg-admin\"");
      }
    } else {
      response = action(request, *actor);
    }
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  };
}

}  // namespace teamreg::admin
