#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace teamreg::files {

/// Where and how to reach an S3-compatible bucket. Credentials come from the environment only
/// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and are never logged.
struct S3Config {
  std::string bucket;
  std::string prefix;    ///< no leading or trailing '/'; may be empty
  std::string endpoint;  ///< scheme://host[:port]; empty: https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  bool path_style = false;  ///< https://host/bucket/key rather than https://bucket.host/key
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  ///< optional (temporary credentials)
  std::chrono::milliseconds connect_timeout{3'000};
  std::chrono::milliseconds attempt_timeout{15'000};  ///< one request, connecting included
  int max_attempts = 3;                       ///< for timeouts, lost connections, 5xx and 429
  std::chrono::milliseconds retry_base{100};  ///< back-off base, doubled per attempt, jittered
  std::size_t max_connections = 32;           ///< easy handles (each with its connections) kept
};

/// Parses `s3://BUCKET[/PREFIX]` into bucket and prefix; an operator-facing error otherwise.
tl::expected<std::pair<std::string, std::string>, std::string> parse_s3_location(
    std::string_view location);
/// Checks a configuration as a whole: an operator-facing error, or nothing.
std::optional<std::string> s3_config_error(const S3Config& config);

/// A body sent with PUT: `size_bytes` bytes from `read(offset, buffer)`, which returns how many it
/// wrote (short only at the end) and may be called again from offset 0 for a retry.
struct S3Upload {
  std::uint64_t size_bytes = 0;
  std::string sha256_hex;  ///< of the whole body; signed, so the store checks what arrived
  std::function<std::size_t(std::uint64_t offset, char* buffer, std::size_t size)> read;
};

struct S3Reply {
  long status = 0;
  std::string body;           ///< at most the request's max_body_bytes
  std::string content_range;  ///< the Content-Range header, if any
};

/// Signed requests to one bucket over a bounded pool of reusable libcurl handles (kept
/// connections), with timeouts and bounded, jittered retries. Thread-safe.
class S3Client final {
 public:
  enum class Method { kGet, kPut, kDelete };

  /// Initialises libcurl once per process; the configuration must have passed s3_config_error.
  explicit S3Client(S3Config config);
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;
  ~S3Client();

  const S3Config& config() const { return config_; }
  /// The object name for a path under the prefix ("documents/<key>" → "<prefix>/documents/<key>").
  std::string object_name(std::string_view path) const;

  /// Sends one request, retrying transient failures; an S3 error status is returned, not thrown.
  /// `object` is an object name (empty: the bucket itself), `query` already sorted and encoded.
  /// Throws BlobError(kUnavailable) when no attempt got an answer or the last answer was a 5xx.
  S3Reply send(Method method, std::string_view object, std::string_view query = {},
               const std::vector<std::string>& headers = {}, const S3Upload* upload = nullptr,
               std::size_t max_body_bytes = 1 << 20);

  /// "GET s3://bucket/name: 403 AccessDenied: message", for logs and operators.
  std::string describe(std::string_view method, std::string_view object,
                       const S3Reply& reply) const;

 private:
  class Pool;
  std::string url(std::string_view object, std::string_view query) const;

  S3Config config_;
  std::string scheme_;
  std::string host_;
  std::string sigv4_;
  std::unique_ptr<Pool> pool_;
};

/// RFC 3986 percent-encoding as S3 signs it: everything but A-Z a-z 0-9 - _ . ~ (and '/' when
/// `keep_slash`).
std::string s3_encode(std::string_view text, bool keep_slash);

/// The text of the first <tag>…</tag> in an S3 XML reply, entities decoded; empty if none. S3
/// replies are flat and machine-made: this is all the XML reading the store needs.
std::string s3_xml_text(std::string_view xml, std::string_view tag);

}  // namespace teamreg::files
