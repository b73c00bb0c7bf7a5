#pragma once

#include <string>

#include "admin/accounts.hpp"
#include "admin/guard.hpp"
#include "admin/service.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace teamreg::admin {

/// Who may use the admin API, managed over HTTP as the CLI manages it (`teamreg admin token …`,
/// `teamreg admin user …`), for the console's "Users and tokens" page:
///   GET /admin/tokens, POST /admin/tokens, DELETE /admin/tokens/{name},
///   GET /admin/users, POST /admin/users, POST /admin/users/{name}/disable,
///   POST /admin/users/{name}/password.
/// Every route, reads included, needs Access::kManage (a token or an admin session); every change
/// is audited under the actor. A new token is in the creating answer only, never again.
class AccessRoutes final {
 public:
  AccessRoutes(AdminService& service, AccountService& accounts, AdminGuard& guard);

  void add_routes(http::Router& router);

 private:
  http::Response list_tokens(const http::Request& request);
  http::Response create_token(const http::Request& request, const std::string& actor);
  http::Response revoke_token(const http::Request& request, const std::string& actor);
  http::Response list_users(const http::Request& request);
  http::Response create_user(const http::Request& request, const std::string& actor);
  http::Response disable_user(const http::Request& request, const std::string& actor);
  http::Response set_password(const http::Request& request, const std::string& actor);

  AdminService& service_;
  AccountService& accounts_;
  AdminGuard& guard_;
};

}  // namespace teamreg::admin
