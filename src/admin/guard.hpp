#pragma once

#include <functional>
#include <string>
#include <tl/expected.hpp>

#include "admin/accounts.hpp"
#include "admin/auth.hpp"
#include "core/error.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace teamreg::admin {

/// What a route needs from its caller.
enum class Access {
  kRead,    ///< any admin credential: a token, or a session of either role
  kChange,  ///< a token, or an admin session; a viewer gets 403 FORBIDDEN
  kManage,  ///< tokens and users, read or changed: a token, or an admin session
};

/// The one gate of every /admin API route (but the session routes themselves). A bearer token
/// (401/429 as Authenticator says; a token is an admin credential) or, without an Authorization
/// header, the console's session cookie: then a state-changing method needs a same-origin request
/// (else 403 CSRF_REJECTED) and the access above needs the admin role (else 403 FORBIDDEN).
class AdminGuard final {
 public:
  /// The handler body, given the actor (token or user name) that the audit log names.
  using Action = std::function<http::Response(const http::Request&, const std::string& actor)>;

  AdminGuard(Authenticator& auth, AccountService& accounts);

  /// `action` behind the gate; every answer gets `Cache-Control: no-store` (admin answers carry
  /// personal data), a 401 also `WWW-Authenticate`.
  http::Handler guarded(Action action, Access access);
  /// The actor of the request, or the error to answer with.
  tl::expected<std::string, Error> admit(const http::Request& request, Access access);

  /// A route object's read method behind the gate (the actor is not needed).
  template <typename Routes>
  http::Handler reader(Routes* routes, http::Response (Routes::*method)(const http::Request&),
                       Access access = Access::kRead) {
    return guarded([routes, method](const http::Request& r,
                                    const std::string&) { return (routes->*method)(r); },
                   access);
  }
  /// A route object's changing method (given the actor) behind the gate.
  template <typename Routes>
  http::Handler writer(Routes* routes,
                       http::Response (Routes::*method)(const http::Request&, const std::string&),
                       Access access = Access::kChange) {
    return guarded(
        [routes, method](const http::Request& r, const std::string& actor) {
          return (routes->*method)(r, actor);
        },
        access);
  }

 private:
  Authenticator& auth_;
  AccountService& accounts_;
};

}  // namespace teamreg::admin
