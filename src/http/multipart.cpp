#include "http/multipart.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

namespace teamreg::http {
namespace {

constexpr std::size_t kMaxBoundaryChars = 70;  // RFC 2046 section 5.1.1
constexpr std::string_view kDelimiterPrefix = "\r\n--";
constexpr std::size_t kMaxEchoedNameChars = 100;
constexpr std::string_view kNotMultipart = "Content-Type must be multipart/form-data";

char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower_ascii(x) == to_lower_ascii(y);
         });
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

bool is_ctl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back())) text.remove_suffix(1);
  return text;
}

// RFC 2046 bchars.
bool is_boundary_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// Empty when the boundary is acceptable, else the client-facing reason.
std::string boundary_problem(std::string_view boundary) {
  if (boundary.empty()) return "multipart boundary is empty";
  if (boundary.size() > kMaxBoundaryChars) return "multipart boundary is longer than 70 characters";
  // The scanner also relies on this: a boundary without CR cannot overlap its own delimiter.
  if (!std::all_of(boundary.begin(), boundary.end(), is_boundary_char) || boundary.back() == ' ') {
    return "multipart boundary contains invalid characters";
  }
  return {};
}

bool has_forbidden_char(std::string_view text) {
  return text.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos;
}

struct Param {
  std::string name;  // lower-cased
  std::string value;
};

bool is_param_name_char(char c) {
  return !is_ctl(c) && !is_ows(c) && c != '=' && c != ';' && c != '"';
}

// Parses `*( OWS ";" OWS name OWS "=" OWS ( token / quoted-string ) ) OWS`, tolerating the
// empty parameters and trailing ';' some clients send. nullopt on a syntax error.
// Inside a quoted-string only \" and \\ are treated as escapes: browsers (per the HTML spec)
// escape quotes as %22 and leave backslashes alone, so `filename="C:\dir\a.pdf"` keeps them.
std::optional<std::vector<Param>> parse_params(std::string_view text) {
  std::vector<Param> params;
  std::size_t i = 0;
  const auto skip_ows = [&] {
    while (i < text.size() && is_ows(text[i])) ++i;
  };
  skip_ows();
  while (i < text.size()) {
    if (text[i] != ';') return std::nullopt;
    ++i;
    skip_ows();
    if (i == text.size() || text[i] == ';') continue;
    Param param;
    while (i < text.size() && is_param_name_char(text[i])) param.name += to_lower_ascii(text[i++]);
    if (param.name.empty()) return std::nullopt;
    skip_ows();
    if (i == text.size() || text[i] != '=') return std::nullopt;
    ++i;
    skip_ows();
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size() && (text[i] == '"' || text[i] == '\\')) {
          param.value += text[i++];
        } else {
          param.value += c;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      while (i < text.size() && text[i] != ';' && !is_ows(text[i]) && text[i] != '"') {
        param.value += text[i++];
      }
    }
    skip_ows();
    params.push_back(std::move(param));
  }
  return params;
}

Error content_type_error(std::string message) {
  return validation_error("Content-Type", std::move(message));
}

}  // namespace

tl::expected<std::string, Error> multipart_boundary(std::string_view content_type) {
  const std::size_t semicolon = content_type.find(';');
  const std::string_view media_type = trim_ows(content_type.substr(0, semicolon));
  if (!iequals(media_type, "multipart/form-data")) {
    return tl::unexpected(
        Error{ErrorCode::kUnsupportedMediaType, std::string(kNotMultipart), {}, {}});
  }
  if (semicolon == std::string_view::npos) {
    return tl::unexpected(content_type_error("multipart boundary is missing"));
  }
  auto params = parse_params(content_type.substr(semicolon));
  if (!params) return tl::unexpected(content_type_error("Content-Type parameters are malformed"));
  std::optional<std::string> boundary;
  for (auto& param : *params) {
    if (param.name != "boundary") continue;
    if (boundary) {
      return tl::unexpected(content_type_error("Content-Type has more than one boundary"));
    }
    boundary = std::move(param.value);
  }
  if (!boundary) return tl::unexpected(content_type_error("multipart boundary is missing"));
  if (auto problem = boundary_problem(*boundary); !problem.empty()) {
    return tl::unexpected(content_type_error(std::move(problem)));
  }
  return std::move(*boundary);
}

MultipartParser::MultipartParser(std::string boundary, MultipartLimits limits,
                                 MultipartHandler& handler)
    : delimiter_(std::move(boundary)), limits_(limits), handler_(handler) {
  delimiter_.insert(0, kDelimiterPrefix);
  // multipart_boundary() already validated it, but the scanner's correctness depends on it.
  const std::string_view checked = std::string_view(delimiter_).substr(kDelimiterPrefix.size());
  if (auto problem = boundary_problem(checked); !problem.empty()) {
    state_ = State::kFailed;
    error_ = content_type_error(std::move(problem));
  }
}

tl::expected<void, Error> MultipartParser::feed(std::string_view bytes) {
  if (state_ == State::kFailed) return tl::unexpected(error_);
  if (state_ == State::kFinished) {
    return fail(validation_error("body", "data after the end of the multipart body"));
  }
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    tl::expected<std::size_t, Error> next;
    switch (state_) {
      case State::kPreamble:
      case State::kBody: next = scan_for_delimiter(bytes, pos); break;
      case State::kHeaders: next = read_header_bytes(bytes, pos); break;
      case State::kDelimiterTail:
      case State::kPadding:
      case State::kDelimiterLf:
      case State::kCloseDash: next = read_delimiter_line(bytes, pos); break;
      case State::kEpilogue: return {};
      case State::kFinished:
      case State::kFailed: return tl::unexpected(error_);  // unreachable: checked above
    }
    if (!next) return fail(std::move(next.error()));
    pos = *next;
  }
  return {};
}

tl::expected<void, Error> MultipartParser::finish() {
  switch (state_) {
    case State::kFailed: return tl::unexpected(error_);
    case State::kFinished: return {};
    case State::kEpilogue: state_ = State::kFinished; return {};
    case State::kPreamble:
      return fail(validation_error("body", "multipart body does not start with a boundary"));
    default: return fail(malformed("multipart body is truncated"));
  }
}

// Content bytes are handed on as soon as they cannot be the start of a delimiter. The only bytes
// held back are the matched delimiter prefix, which equals delimiter_[0, matched_) and so needs
// no buffer: when a match breaks, the released bytes are re-emitted from delimiter_ itself.
tl::expected<std::size_t, Error> MultipartParser::scan_for_delimiter(std::string_view bytes,
                                                                     std::size_t pos) {
  const bool emit = state_ == State::kBody;
  // Held bytes that came from earlier slices (the oldest part of the match); those from this
  // slice are still in `bytes` and are emitted from there, contiguously with the rest.
  std::size_t carried = matched_;
  const std::size_t start = pos;
  std::size_t i = pos;
  const auto emit_slice = [&](std::size_t end) -> tl::expected<void, Error> {
    if (!emit || end <= start) return {};
    return handler_.on_part_data(bytes.substr(start, end - start));
  };
  while (i < bytes.size()) {
    if (matched_ == 0) {
      const void* cr = std::memchr(bytes.data() + i, '\r', bytes.size() - i);
      if (cr == nullptr) {
        i = bytes.size();
        break;
      }
      i = static_cast<std::size_t>(static_cast<const char*>(cr) - bytes.data());
    }
    const std::size_t before = matched_;
    matched_ = advance_match(matched_, bytes[i]);
    ++i;
    const std::size_t released = before + 1 - matched_;
    if (carried > 0 && released > 0) {
      const std::size_t from_carried = std::min(released, carried);
      if (emit) {
        auto sent = handler_.on_part_data(std::string_view(delimiter_).substr(0, from_carried));
        if (!sent) return tl::unexpected(std::move(sent.error()));
      }
      carried -= from_carried;
    }
    if (matched_ == delimiter_.size()) {
      if (auto sent = emit_slice(i - (matched_ - carried)); !sent) {
        return tl::unexpected(std::move(sent.error()));
      }
      if (auto counted = count_preamble(i - start); !counted) {
        return tl::unexpected(std::move(counted.error()));
      }
      matched_ = 0;
      state_ = State::kDelimiterTail;
      return i;
    }
  }
  if (auto sent = emit_slice(i - (matched_ - carried)); !sent) {
    return tl::unexpected(std::move(sent.error()));
  }
  if (auto counted = count_preamble(i - start); !counted) {
    return tl::unexpected(std::move(counted.error()));
  }
  return i;
}

// The preamble is discarded, but a body that never shows the boundary should fail fast. The
// count includes the delimiter once it is found and is checked then too: checked only at the end
// of each slice, a long preamble failed or passed depending on where the slices fell.
tl::expected<void, Error> MultipartParser::count_preamble(std::size_t scanned) {
  if (state_ != State::kPreamble) return {};
  preamble_bytes_ += scanned;
  if (preamble_bytes_ > delimiter_.size() &&
      preamble_bytes_ - delimiter_.size() > limits_.max_part_header_bytes) {
    return tl::unexpected(
        validation_error("body", "multipart body does not start with a boundary"));
  }
  return {};
}

// A boundary cannot contain CR, so no proper suffix of a partial match can itself be a prefix of
// the delimiter unless it is the mismatching byte alone being a CR: a full failure table of
// Knuth-Morris-Pratt degenerates to this.
std::size_t MultipartParser::advance_match(std::size_t matched, char c) const {
  if (delimiter_[matched] == c) return matched + 1;
  return c == '\r' ? 1 : 0;
}

tl::expected<std::size_t, Error> MultipartParser::read_delimiter_line(std::string_view bytes,
                                                                      std::size_t pos) {
  const char c = bytes[pos];
  switch (state_) {
    case State::kDelimiterTail:
      if (c == '-') {
        state_ = State::kCloseDash;
        return pos + 1;
      }
      if (is_ows(c)) {
        state_ = State::kPadding;
        return pos + 1;
      }
      if (c == '\r') {
        state_ = State::kDelimiterLf;
        return pos + 1;
      }
      break;
    case State::kPadding:
      if (is_ows(c)) return pos + 1;
      if (c == '\r') {
        state_ = State::kDelimiterLf;
        return pos + 1;
      }
      break;
    case State::kDelimiterLf:
      if (c == '\n') {
        if (auto ended = end_part_if_open(); !ended) {
          return tl::unexpected(std::move(ended.error()));
        }
        if (parts_ >= limits_.max_parts) {
          return tl::unexpected(validation_error("body", "multipart body has too many parts"));
        }
        state_ = State::kHeaders;
        part_ = PartInfo{};
        line_.clear();
        header_bytes_ = 0;
        seen_disposition_ = false;
        seen_content_type_ = false;
        return pos + 1;
      }
      break;
    case State::kCloseDash:
      if (c == '-') {
        if (auto ended = end_part_if_open(); !ended) {
          return tl::unexpected(std::move(ended.error()));
        }
        state_ = State::kEpilogue;
        return pos + 1;
      }
      break;
    default: break;
  }
  return tl::unexpected(malformed("malformed multipart boundary line"));
}

tl::expected<std::size_t, Error> MultipartParser::read_header_bytes(std::string_view bytes,
                                                                    std::size_t pos) {
  const void* lf = std::memchr(bytes.data() + pos, '\n', bytes.size() - pos);
  const std::size_t end =
      lf == nullptr ? bytes.size()
                    : static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data()) + 1;
  // Checked before appending so that one endless header line cannot grow line_ past the limit.
  if (end - pos > limits_.max_part_header_bytes - header_bytes_) {
    return tl::unexpected(malformed("multipart part headers are too large"));
  }
  header_bytes_ += end - pos;
  line_.append(bytes.substr(pos, end - pos));
  if (lf == nullptr) return end;

  std::string_view line = line_;
  if (line.size() < 2 || line[line.size() - 2] != '\r') {
    return tl::unexpected(malformed("multipart part header line must end with CRLF"));
  }
  line.remove_suffix(2);
  if (line.find('\r') != std::string_view::npos) {
    return tl::unexpected(malformed("malformed multipart part header"));
  }
  auto done = line.empty() ? begin_part() : parse_header_line(line);
  if (!done) return tl::unexpected(std::move(done.error()));
  line_.clear();
  return end;
}

tl::expected<void, Error> MultipartParser::parse_header_line(std::string_view line) {
  // Obsolete line folding is not used by any form client and would only widen the attack surface.
  if (is_ows(line.front())) return tl::unexpected(malformed("malformed multipart part header"));
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return tl::unexpected(malformed("malformed multipart part header"));
  }
  const std::string_view name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), is_param_name_char)) {
    return tl::unexpected(malformed("malformed multipart part header"));
  }
  const std::string_view value = trim_ows(line.substr(colon + 1));
  if (iequals(name, "Content-Disposition")) {
    if (seen_disposition_) {
      return tl::unexpected(malformed("multipart part has more than one Content-Disposition"));
    }
    seen_disposition_ = true;
    return parse_disposition(value);
  }
  if (iequals(name, "Content-Type")) {
    if (seen_content_type_) {
      return tl::unexpected(malformed("multipart part has more than one Content-Type"));
    }
    seen_content_type_ = true;
    part_.content_type = std::string(value);
  }
  return {};
}

tl::expected<void, Error> MultipartParser::parse_disposition(std::string_view value) {
  const std::size_t semicolon = value.find(';');
  if (!iequals(trim_ows(value.substr(0, semicolon)), "form-data")) {
    return tl::unexpected(malformed("multipart part Content-Disposition must be form-data"));
  }
  std::vector<Param> params;
  if (semicolon != std::string_view::npos) {
    auto parsed = parse_params(value.substr(semicolon));
    if (!parsed) return tl::unexpected(malformed("malformed multipart part Content-Disposition"));
    params = std::move(*parsed);
  }
  std::optional<std::string> name;
  std::optional<std::string> filename;
  bool duplicate_name = false;
  bool duplicate_filename = false;
  for (auto& param : params) {
    if (param.name == "name") {
      duplicate_name = duplicate_name || name.has_value();
      name = std::move(param.value);
    } else if (param.name == "filename") {
      duplicate_filename = duplicate_filename || filename.has_value();
      filename = std::move(param.value);
    }
  }
  if (duplicate_name) return tl::unexpected(malformed("multipart part has more than one name"));
  // Checked before the name becomes the error field, so a bad name is never echoed back.
  if (name && has_forbidden_char(*name)) {
    return tl::unexpected(
        validation_error("body", "form field name contains a forbidden character"));
  }
  part_.name = name.value_or(std::string{});
  if (duplicate_filename) {
    return tl::unexpected(malformed("multipart part has more than one filename"));
  }
  if (filename) {
    if (has_forbidden_char(*filename)) {
      return tl::unexpected(malformed("file name contains a forbidden character"));
    }
    part_.has_filename = true;
    part_.filename = std::move(*filename);
  }
  return {};
}

tl::expected<void, Error> MultipartParser::begin_part() {
  if (!seen_disposition_) {
    return tl::unexpected(validation_error("body", "multipart part has no Content-Disposition"));
  }
  if (part_.name.empty()) {
    return tl::unexpected(validation_error("body", "multipart part has no field name"));
  }
  ++parts_;
  auto begun = handler_.on_part_begin(part_);
  if (!begun) return begun;
  part_open_ = true;
  state_ = State::kBody;
  matched_ = 0;
  return {};
}

tl::expected<void, Error> MultipartParser::end_part_if_open() {
  if (!part_open_) return {};
  part_open_ = false;
  return handler_.on_part_end();
}

Error MultipartParser::malformed(std::string message) const {
  // The name goes back to the client in details.field: only a plausible field name is echoed,
  // never arbitrary bytes (which could be invalid UTF-8 in the JSON) or kilobytes of them.
  const bool plausible = !part_.name.empty() && part_.name.size() <= kMaxEchoedNameChars &&
                         std::none_of(part_.name.begin(), part_.name.end(), [](char c) {
                           return is_ctl(c) || static_cast<unsigned char>(c) >= 0x80;
                         });
  return validation_error(plausible ? part_.name : "body", std::move(message));
}

tl::unexpected<Error> MultipartParser::fail(Error error) {
  state_ = State::kFailed;
  error_ = std::move(error);
  return tl::unexpected(error_);
}

}  // namespace teamreg::http
