#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "core/error.hpp"

namespace teamreg::http {

struct MultipartLimits {
  std::size_t max_part_header_bytes = 8 * 1024;  ///< all header lines of one part together
  std::size_t max_parts = 200;
};

/// The headers of one part, parsed from Content-Disposition / Content-Type.
struct PartInfo {
  std::string name;           ///< form field name (required; a part without one is an error)
  bool has_filename = false;  ///< Content-Disposition carried filename=...
  std::string filename;       ///< as sent; informational only, never used for paths
  std::string content_type;   ///< as sent; never trusted
};

/// Receives the parts of a multipart body as they stream through the parser.
/// Any error returned aborts parsing; the parser returns that same error.
class MultipartHandler {
 public:
  virtual ~MultipartHandler() = default;
  virtual tl::expected<void, Error> on_part_begin(const PartInfo& part) = 0;
  /// Called zero or more times per part with consecutive slices of its content.
  virtual tl::expected<void, Error> on_part_data(std::string_view bytes) = 0;
  virtual tl::expected<void, Error> on_part_end() = 0;
};

/// Extracts the boundary parameter from a Content-Type value such as
/// `multipart/form-data; boundary=----abc`. Error (kUnsupportedMediaType) when the type is not
/// multipart/form-data; error (kValidationFailed, field "Content-Type") when the boundary is
/// missing, empty, longer than 70 chars or otherwise malformed (RFC 2046).
tl::expected<std::string, Error> multipart_boundary(std::string_view content_type);

/// Incremental (push) multipart/form-data parser (RFC 7578 / RFC 2046). Holds at most one part
/// header block and a boundary's worth of lookahead in memory; content is handed on as it arrives.
class MultipartParser final {
 public:
  MultipartParser(std::string boundary, MultipartLimits limits, MultipartHandler& handler);

  /// Feeds the next slice of the body (any size, any split point).
  tl::expected<void, Error> feed(std::string_view bytes);
  /// Declares the end of the body; error if the closing boundary was not seen.
  tl::expected<void, Error> finish();

 private:
  enum class State {
    kPreamble,       // discarding bytes before the first boundary
    kDelimiterTail,  // just after "--boundary": "--", padding or CRLF must follow
    kPadding,        // transport padding (SP / HT) after the boundary
    kDelimiterLf,    // CR seen after the boundary, LF must follow
    kCloseDash,      // first '-' of the close delimiter seen
    kHeaders,        // inside a part's header block
    kBody,           // inside a part's content
    kEpilogue,       // after the close delimiter: everything is ignored
    kFinished,       // finish() succeeded
    kFailed,         // error_ holds the error returned for every later call
  };

  tl::expected<std::size_t, Error> scan_for_delimiter(std::string_view bytes, std::size_t pos);
  tl::expected<void, Error> count_preamble(std::size_t scanned);
  tl::expected<std::size_t, Error> read_delimiter_line(std::string_view bytes, std::size_t pos);
  tl::expected<std::size_t, Error> read_header_bytes(std::string_view bytes, std::size_t pos);
  tl::expected<void, Error> parse_header_line(std::string_view line);
  tl::expected<void, Error> parse_disposition(std::string_view value);
  tl::expected<void, Error> begin_part();
  tl::expected<void, Error> end_part_if_open();
  std::size_t advance_match(std::size_t matched, char c) const;
  Error malformed(std::string message) const;
  tl::unexpected<Error> fail(Error error);

  std::string delimiter_;  ///< "\r\n--" + boundary
  MultipartLimits limits_;
  MultipartHandler& handler_;
  State state_ = State::kPreamble;
  /// Delimiter bytes matched and held back, not yet handed on. Starts at 2: the first boundary may
  /// open the body without a CRLF before it, so the scan begins as if that CRLF was matched.
  std::size_t matched_ = 2;
  std::size_t preamble_bytes_ = 0;
  std::size_t parts_ = 0;
  bool part_open_ = false;  ///< on_part_begin was called and on_part_end not yet
  std::string line_;        ///< the header line being assembled
  std::size_t header_bytes_ = 0;
  bool seen_disposition_ = false;
  bool seen_content_type_ = false;
  PartInfo part_;
  Error error_;
};

}  // namespace teamreg::http
