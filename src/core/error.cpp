#include "core/error.hpp"

#include <boost/json.hpp>

namespace teamreg {
namespace {

/// Client-chosen text (a field name) can be any bytes; a response must stay valid JSON/UTF-8.
std::string printable_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    if (c >= 0x20 && c < 0x7F) {
      length = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
    }
    bool ok = length > 0 && i + length <= text.size();
    // RFC 3629 narrows the second byte after these leads: no overlong forms (E0, F0), no
    // surrogates (ED), nothing past U+10FFFF (F4). Without it "\xED\xA0\x80" went out as is.
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c == 0xE0) low = 0xA0;
    if (c == 0xED) high = 0x9F;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = k == 1 ? next >= low && next <= high : (next & 0xC0) == 0x80;
    }
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

}  // namespace

Error validation_error(std::string field, std::string message) {
  return Error{ErrorCode::kValidationFailed, std::move(message), std::move(field), {}};
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidationFailed: return "VALIDATION_FAILED";
    case ErrorCode::kDuplicateCaptainEmail: return "DUPLICATE_CAPTAIN_EMAIL";
    case ErrorCode::kDuplicateTeam: return "DUPLICATE_TEAM";
    case ErrorCode::kChurchLimitReached: return "CHURCH_LIMIT_REACHED";
    case ErrorCode::kIdempotencyKeyInUse: return "IDEMPOTENCY_KEY_IN_USE";
    case ErrorCode::kIdempotencyKeyReused: return "IDEMPOTENCY_KEY_REUSED";
    case ErrorCode::kPayloadTooLarge: return "PAYLOAD_TOO_LARGE";
    case ErrorCode::kUnsupportedMediaType: return "UNSUPPORTED_MEDIA_TYPE";
    case ErrorCode::kRateLimited: return "RATE_LIMITED";
    case ErrorCode::kServiceUnavailable: return "SERVICE_UNAVAILABLE";
    case ErrorCode::kStorageFull: return "STORAGE_FULL";
    case ErrorCode::kTeamNotFound: return "TEAM_NOT_FOUND";
    case ErrorCode::kPlayerNotFound: return "PLAYER_NOT_FOUND";
    case ErrorCode::kNotFound: return "NOT_FOUND";
    case ErrorCode::kMethodNotAllowed: return "METHOD_NOT_ALLOWED";
    case ErrorCode::kBadRequest: return "BAD_REQUEST";
    case ErrorCode::kUnauthorized: return "UNAUTHORIZED";
    case ErrorCode::kForbidden: return "FORBIDDEN";
    case ErrorCode::kCsrfRejected: return "CSRF_REJECTED";
    case ErrorCode::kSequenceBelowIssued: return "SEQUENCE_BELOW_ISSUED";
    case ErrorCode::kMailAlreadySent: return "MAIL_ALREADY_SENT";
    case ErrorCode::kInternal: return "INTERNAL_ERROR";
  }
  return "INTERNAL_ERROR";
}

unsigned http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidationFailed:
    case ErrorCode::kBadRequest: return 400;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kForbidden:
    case ErrorCode::kCsrfRejected: return 403;
    case ErrorCode::kTeamNotFound:
    case ErrorCode::kPlayerNotFound:
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kDuplicateCaptainEmail:
    case ErrorCode::kDuplicateTeam:
    case ErrorCode::kChurchLimitReached:
    case ErrorCode::kIdempotencyKeyInUse:
    case ErrorCode::kSequenceBelowIssued:
    case ErrorCode::kMailAlreadySent: return 409;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnsupportedMediaType: return 415;
    case ErrorCode::kIdempotencyKeyReused: return 422;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kServiceUnavailable:
    case ErrorCode::kStorageFull: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string error_body(const Error& error, std::string_view request_id) {
  boost::json::object details;
  if (!error.field.empty()) details["field"] = printable_utf8(error.field);
  boost::json::object body{
      {"success", false},
      {"error_code", error_code_name(error.code)},
      {"message", printable_utf8(error.message)},
      {"details", std::move(details)},
      {"request_id", request_id},
  };
  // The old client reads FastAPI's `detail` for the church limit message.
  if (error.code == ErrorCode::kChurchLimitReached) body["detail"] = error.message;
  return boost::json::serialize(body);
}

}  // namespace teamreg
