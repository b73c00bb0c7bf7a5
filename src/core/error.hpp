#pragma once

#include <string>
#include <string_view>

namespace teamreg {

/// Every expected failure the service can answer with; mapped to an HTTP status in one place.
enum class ErrorCode {
  kValidationFailed,
  kDuplicateCaptainEmail,
  kDuplicateTeam,
  kChurchLimitReached,
  kIdempotencyKeyInUse,
  kIdempotencyKeyReused,
  kPayloadTooLarge,
  kUnsupportedMediaType,
  kRateLimited,
  kServiceUnavailable,
  kStorageFull,  ///< no space left for documents (ENOSPC, EDQUOT)
  kTeamNotFound,
  kPlayerNotFound,
  kNotFound,
  kMethodNotAllowed,
  kBadRequest,
  kUnauthorized,
  kForbidden,     ///< authenticated, but the role may not do this (a viewer changing something)
  kCsrfRejected,  ///< a cookie-authenticated change that did not come from our own origin
  kSequenceBelowIssued,
  kMailAlreadySent,
  kInternal,
};

/// An expected outcome that is not success. `message` is safe to show a client;
/// `log_detail` is for the log only and never leaves the process.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string field;       ///< the offending form field, if any (goes to details.field)
  std::string log_detail;  ///< never sent to a client
};

Error validation_error(std::string field, std::string message);

/// "VALIDATION_FAILED" etc.
std::string_view error_code_name(ErrorCode code);

/// The HTTP status for an error code: the one mapping in the code base.
unsigned http_status(ErrorCode code);

/// Renders the one error shape of API.md:
/// {"success":false,"error_code":..,"message":..,"details":{..},"request_id":..}
std::string error_body(const Error& error, std::string_view request_id);

}  // namespace teamreg
