#include "admin/web_session.hpp"

#include <algorithm>

namespace teamreg::admin {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

/// A Host header that can be part of an origin: no spaces, slashes, controls or userinfo.
bool plausible_host(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return c > 0x20 && c < 0x7F && c != '/' && c != '\\' && c != '@' && c != '?' && c != '#';
  });
}

enum class OriginCheck { kMatch, kMismatch, kAbsent };

OriginCheck check_origin(const http::Request& request) {
  const std::string own = own_origin(request);
  if (const auto origin = request.header("origin")) {
    return !own.empty() && equal_ignoring_case(trim_spaces(*origin), own) ? OriginCheck::kMatch
                                                                          : OriginCheck::kMismatch;
  }
  if (const auto referer = request.header("referer")) {
    const std::string_view value = trim_spaces(*referer);
    const bool match = !own.empty() && value.size() > own.size() && value[own.size()] == '/' &&
                       equal_ignoring_case(value.substr(0, own.size()), own);
    return match ? OriginCheck::kMatch : OriginCheck::kMismatch;
  }
  return OriginCheck::kAbsent;
}

std::string cookie_attributes(bool secure) {
  return secure ? "; Path=/; HttpOnly; SameSite=Strict; Secure"
                : "; Path=/; HttpOnly; SameSite=Strict";
}

}  // namespace

std::optional<std::string_view> session_cookie(const http::Request& request) {
  for (const auto& [name, value] : request.headers) {
    if (name != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t semicolon = rest.find(';');
      const std::string_view pair = trim_spaces(rest.substr(0, semicolon));
      rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
      const std::size_t equals = pair.find('=');
      if (equals == std::string_view::npos) continue;
      if (trim_spaces(pair.substr(0, equals)) != kSessionCookie) continue;
      std::string_view cookie = trim_spaces(pair.substr(equals + 1));
      if (cookie.size() >= 2 && cookie.front() == '"' && cookie.back() == '"') {
        cookie = cookie.substr(1, cookie.size() - 2);
      }
      return cookie;
    }
  }
  return std::nullopt;
}

std::string session_cookie_header(std::string_view session_id, bool secure) {
  return std::string(kSessionCookie) + "=" + std::string(session_id) + cookie_attributes(secure);
}

std::string cleared_session_cookie_header(bool secure) {
  return std::string(kSessionCookie) + "=" + cookie_attributes(secure) + "; Max-Age=0";
}

bool changes_state(std::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

std::string own_origin(const http::Request& request) {
  const auto host = request.header("host");
  if (!host) return {};
  const std::string_view trimmed = trim_spaces(*host);
  if (!plausible_host(trimmed)) return {};
  return request.scheme + "://" + std::string(trimmed);
}

bool same_origin(const http::Request& request) {
  return check_origin(request) == OriginCheck::kMatch;
}

bool not_cross_origin(const http::Request& request) {
  return check_origin(request) != OriginCheck::kMismatch;
}

}  // namespace teamreg::admin
