#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"
#include "web/embedded.hpp"

namespace teamreg::web {

/// The web pages teamreg serves itself: the public registration page at `/`, the organizers'
/// console at `/admin/`, and every file of web/ at `/assets/<path>`. All of it is built into the
/// binary; nothing is read from disk or fetched at run time.
///
/// Caching: every answer carries a strong ETag (a hash of the content) and `Cache-Control:
/// no-cache`, so a browser revalidates (304, no body) and never runs a stale script after an
/// upgrade. Pages name their assets with `?v=<hash>` as well (the `{{asset:PATH}}` placeholder in
/// an HTML file becomes `/assets/PATH?v=HASH` when the server starts), so shared caches and
/// proxies that ignore revalidation see a new URL for new content.
///
/// Security headers on every answer: a Content-Security-Policy without inline scripts or styles
/// and with `frame-ancestors 'none'`, `X-Content-Type-Options: nosniff`, `Referrer-Policy:
/// same-origin`, `X-Frame-Options: DENY`.
class WebAssets final {
 public:
  explicit WebAssets(std::span<const EmbeddedFile> files = embedded_files());

  /// GET `/`, `/admin` (also `/admin/`) and `/assets/...`; answered on the network thread (no
  /// I/O).
  void add_routes(http::Router& router) const;

  /// The response for one asset path (relative to web/), for tests; 404 when unknown.
  http::Response serve(std::string_view path, const http::Request& request) const;

  static constexpr std::string_view kContentSecurityPolicy =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
      "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'";

 private:
  struct Asset {
    std::string path;
    std::string content;
    std::string content_type;
    std::string etag;
  };
  const Asset* find(std::string_view path) const;

  std::vector<Asset> assets_;
};

/// "text/javascript; charset=utf-8" etc., by file extension; application/octet-stream otherwise.
std::string_view content_type_for(std::string_view path);

}  // namespace teamreg::web
