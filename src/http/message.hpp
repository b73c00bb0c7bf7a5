#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace teamreg::http {

/// A request as the handlers see it: headers parsed, body (for ordinary routes) read whole
/// within a small limit. Upload routes get their body streamed through an UploadSink instead.
struct Request {
  std::string method;
  std::string target;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
  std::string body;
  std::string client_address;   ///< see resolve_client(): the peer, or what a trusted proxy says
  std::string scheme = "http";  ///< "https" only when a trusted proxy says the client used TLS
  std::string request_id;
  std::map<std::string, std::string> path_params;

  std::optional<std::string_view> header(std::string_view lower_name) const;
  /// The decoded value of a query parameter, if present.
  std::optional<std::string> query_param(std::string_view name) const;
};

/// A response body produced piece by piece (a stored document), so that a large body never sits
/// whole in memory.
class BodySource {
 public:
  virtual ~BodySource() = default;
  /// The whole body's size, sent as Content-Length; empty when unknown: the body is then sent
  /// chunked (to an HTTP/1.0 client: ended by closing the connection).
  virtual std::optional<std::uint64_t> size_bytes() const = 0;
  /// The next piece (valid until the next call); empty only at the end. Blocking: the server
  /// calls it on the worker pool. Throws when the body cannot be produced: the status line has
  /// gone by then, so the server closes the connection and the client sees a short body.
  virtual std::string_view next() = 0;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// When set, the body comes from here instead of `body`.
  std::shared_ptr<BodySource> body_source;
};

Response json_response(unsigned status, std::string body);

/// An integer query parameter such as limit/offset: absent → fallback; present but not a decimal
/// number within [min, max] → a validation error naming the parameter.
tl::expected<int, Error> int_query_param(const Request& request, std::string_view name,
                                         int fallback, int min, int max);
/// The one error shape; adds Retry-After for 429/503.
Response error_response(const Error& error, std::string_view request_id);

/// Delivers a response; may be called from any thread, exactly once.
using Responder = std::function<void(Response)>;

/// Ordinary handler: runs on the blocking worker pool (it may do database I/O).
using Handler = std::function<Response(const Request&)>;

/// Receives a streamed request body (a multipart upload). on_body runs on a network thread and
/// must not block beyond buffered file writes; on_complete must hand slow work (fsync, database)
/// to a worker and answer through the Responder.
class UploadSink {
 public:
  virtual ~UploadSink() = default;
  /// Called once, before any of the body is read. True: read it now. False: the sink calls
  /// `resume` (once, from any thread) when it may be read, and until then the server reads
  /// nothing, so TCP pushes back on the client instead of the server refusing it.
  virtual bool admit(std::function<void()> resume) {
    (void)resume;
    return true;
  }
  /// The server's bounded wait for admission ran out. True when the sink had not admitted the
  /// upload and never will call resume (the server answers 503); false when resume is on its way.
  virtual bool withdraw() { return false; }
  virtual tl::expected<void, Error> on_body(std::string_view bytes) = 0;
  virtual void on_complete(Responder respond) = 0;
};

/// Decides, from the headers alone, whether an upload may start (media type, rate limit,
/// capacity); an Error is answered at once and the connection closed.
using UploadHandler =
    std::function<tl::expected<std::unique_ptr<UploadSink>, Error>(const Request&)>;

}  // namespace teamreg::http
