#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "admin/accounts.hpp"
#include "admin/auth.hpp"
#include "admin/service.hpp"
#include "files/blob_store.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace teamreg::admin {

/// The JSON bodies that both the HTTP routes and the CLI print for sequence operations.
std::string sequence_body(const SequenceView& view);
std::string reset_body(const ResetResult& result);
std::string sync_body(const SyncResult& result);

/// `/admin/teams/{team_id}/files/{field}`, the URL admin JSON gives for a stored document.
std::string document_url(std::string_view team_id, std::string_view field);
/// `ICCT-007_pastor_letter.pdf`: a download name made only of safe characters.
std::string download_name(std::string_view team_id, std::string_view field,
                          std::string_view content_type);

/// Every route of API.md's Admin section. Each one authenticates first, then runs on the worker
/// pool like any handler. A bearer token (401/429 as Authenticator says) or, without an
/// Authorization header, the console's session cookie: then a change needs a same-origin
/// request (else 403 CSRF_REJECTED) and the admin role (else 403 FORBIDDEN). The session
/// routes themselves (POST/GET/DELETE /admin/session) are in session_routes.hpp.
class AdminRoutes final {
 public:
  AdminRoutes(AdminService& service, Authenticator& auth, AccountService& accounts,
              files::BlobStore& blobs);

  void add_routes(http::Router& router);

 private:
  using Action = std::function<http::Response(const http::Request&, const std::string& actor)>;
  /// `changes`: the route changes state (confirm, reset, ...), which a viewer may not do.
  http::Handler guarded(Action action, bool changes);
  /// The actor of the request (a token or a user name), or the error to answer with.
  tl::expected<std::string, Error> admit(const http::Request& request, bool changes);

  http::Response list_teams(const http::Request& request);
  http::Response team_detail(const http::Request& request);
  http::Response player_detail(const http::Request& request);
  http::Response confirm(const http::Request& request, const std::string& actor);
  http::Response reject(const http::Request& request, const std::string& actor);
  http::Response document(const http::Request& request);
  http::Response sequence_current(const http::Request& request);
  http::Response sequence_reset(const http::Request& request, const std::string& actor);
  http::Response sequence_sync(const http::Request& request, const std::string& actor);
  http::Response export_csv(const http::Request& request);
  http::Response audit(const http::Request& request);
  http::Response outbox(const http::Request& request);
  http::Response retry_mail(const http::Request& request, const std::string& actor);
  /// "queued", "none" (nothing changed) or "disabled" (no mail configured).
  std::string_view email_notification(const storage::StatusChange& change) const;

  AdminService& service_;
  Authenticator& auth_;
  AccountService& accounts_;
  files::BlobStore& blobs_;
};

}  // namespace teamreg::admin
