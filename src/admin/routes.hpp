#pragma once

#include <string>
#include <string_view>

#include "admin/guard.hpp"
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

/// Every route of API.md's Admin section (teams, documents, sequence, audit, CSV, outbox). Each one
/// passes the AdminGuard first, then runs on the worker pool like any handler. Tokens and users
/// are in access_routes.hpp, the console's login in session_routes.hpp.
class AdminRoutes final {
 public:
  AdminRoutes(AdminService& service, AdminGuard& guard, files::BlobStore& blobs);

  void add_routes(http::Router& router);

 private:
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
  AdminGuard& guard_;
  files::BlobStore& blobs_;
};

}  // namespace teamreg::admin
