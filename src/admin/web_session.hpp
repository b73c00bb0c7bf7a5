#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace teamreg::admin {

/// The cookie that carries a console session id.
inline constexpr std::string_view kSessionCookie = "teamreg_session";

/// The value of the teamreg_session cookie, if the request sends one (any Cookie header).
std::optional<std::string_view> session_cookie(const http::Request& request);

/// `Set-Cookie` value that stores a session id: HttpOnly, SameSite=Strict, Path=/, and Secure
/// when the client reached us over HTTPS. No Max-Age: the server enforces the idle timeout.
std::string session_cookie_header(std::string_view session_id, bool secure);
/// `Set-Cookie` value that deletes the session cookie (Max-Age=0).
std::string cleared_session_cookie_header(bool secure);

/// True for methods that may change state: all but GET, HEAD and OPTIONS.
bool changes_state(std::string_view method);

/// `<scheme>://<Host header>` (scheme: Request::scheme, https only when a trusted proxy said so);
/// empty when the request has no usable Host header.
std::string own_origin(const http::Request& request);

/// The CSRF rule for cookie-authenticated changes: `Origin` equals own_origin(), or, when there
/// is no Origin header, `Referer` starts with own_origin() + "/". Scheme and host compare
/// case-insensitively. False when neither header is there.
bool same_origin(const http::Request& request);

/// Like same_origin(), but a request with neither Origin nor Referer passes: for the login,
/// which scripts send without them and which carries no cookie to abuse.
bool not_cross_origin(const http::Request& request);

}  // namespace teamreg::admin
