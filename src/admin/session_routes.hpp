#pragma once

#include "admin/accounts.hpp"
#include "admin/auth.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace teamreg::admin {

/// The console's login, who-am-I and logout: POST, GET and DELETE /admin/session.
/// A login answers every failure alike (401 "Wrong user name or password") and counts it in
/// the Authenticator's per-address failure limit (429 past it; a right password still logs in).
class SessionRoutes final {
 public:
  SessionRoutes(AccountService& accounts, Authenticator& auth);

  void add_routes(http::Router& router);

 private:
  http::Response login(const http::Request& request);
  http::Response who(const http::Request& request);
  http::Response logout(const http::Request& request);

  AccountService& accounts_;
  Authenticator& auth_;
};

}  // namespace teamreg::admin
