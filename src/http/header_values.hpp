#pragma once

#include <string_view>

namespace teamreg::http {

// The header values teamreg checks itself (Beast only splits the header into name and value).
// They live here, apart from the session and the service that use them, so that unit tests and
// the fuzz targets of fuzz/ can call them.

/// A client's X-Request-ID is echoed (and logged) only when it is 1 to 128 characters of
/// [A-Za-z0-9-_.]; otherwise the server makes up its own.
bool sane_request_id(std::string_view id);

/// Idempotency-Key: 1 to 255 visible ASCII characters (0x21-0x7E).
bool valid_idempotency_key(std::string_view key);

}  // namespace teamreg::http
