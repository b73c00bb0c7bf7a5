// The header values teamreg parses itself: X-Request-ID, Idempotency-Key, the session cookie,
// Origin/Referer against Host, and X-Forwarded-For / Forwarded / X-Forwarded-Proto behind a
// trusted proxy (plus the --trusted-proxies list syntax, which an operator writes).
//
// Input: header lines `Name: value`, separated by LF (a CR before it is dropped). Names are
// lower-cased as the session does. A line `trusted-proxies: <list>` replaces the default list.

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/web_session.hpp"
#include "check.hpp"
#include "http/client_address.hpp"
#include "http/header_values.hpp"
#include "http/message.hpp"

namespace {

namespace ip = boost::asio::ip;
using teamreg::fuzz::check;
using teamreg::http::Request;
using teamreg::http::TrustedProxies;

constexpr std::string_view kTrusted = "10.0.0.0/8, ::1, 2001:db8::/32, ::ffff:192.0.2.0/120";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool visible_ascii(char c) {
  return c > 0x20 && c < 0x7F;
}

void check_request_id(std::string_view id) {
  if (!teamreg::http::sane_request_id(id)) return;
  check(!id.empty() && id.size() <= 128, "an accepted X-Request-ID has a bad length");
  for (const char c : id) {
    check(visible_ascii(c) && c != '"' && c != '=' && c != '\\',
          "an accepted X-Request-ID could break a log line", id);
  }
}

void check_idempotency_key(std::string_view key) {
  if (!teamreg::http::valid_idempotency_key(key)) return;
  check(!key.empty() && key.size() <= 255, "an accepted Idempotency-Key has a bad length");
  for (const char c : key)
    check(visible_ascii(c), "an accepted Idempotency-Key is not visible ASCII");
}

void check_cookie(const Request& request) {
  const auto cookie = teamreg::admin::session_cookie(request);
  if (!cookie) return;
  bool inside = false;
  for (const auto& [name, value] : request.headers) {
    if (name == "cookie" && cookie->data() >= value.data() &&
        cookie->data() + cookie->size() <= value.data() + value.size()) {
      inside = true;
    }
  }
  check(inside, "the session cookie does not point into a Cookie header");
  check(cookie->find(';') == std::string_view::npos, "the session cookie holds a ';'");
}

void check_origin(const Request& request) {
  const std::string own = teamreg::admin::own_origin(request);
  check(own.empty() || own.starts_with("http://") || own.starts_with("https://"),
        "own_origin is not an http(s) origin", own);
  if (teamreg::admin::same_origin(request)) {
    check(!own.empty(), "same origin without an own origin");
    check(teamreg::admin::not_cross_origin(request), "same origin, yet cross origin");
  }
}

void check_client(const ip::address& peer, const Request& request, const TrustedProxies& trusted) {
  const auto origin = teamreg::http::resolve_client(peer, request.headers, trusted);
  check(origin.scheme == "http" || origin.scheme == "https", "a scheme other than http(s)",
        origin.scheme);
  boost::system::error_code ec;
  const auto address = ip::make_address(origin.address, ec);
  check(!ec, "the client address is not an address", origin.address);
  check(address == teamreg::http::canonical_address(address), "the client address is not canonical",
        origin.address);
  check(address.to_string() == origin.address, "the client address is not in canonical text",
        origin.address);
  if (!trusted.contains(peer)) {
    check(origin.address == teamreg::http::canonical_address(peer).to_string() &&
              origin.scheme == "http",
          "an untrusted peer's forwarding headers were believed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Request request;
  std::string_view trusted_list = kTrusted;
  while (!input.empty()) {
    const std::size_t lf = input.find('\n');
    std::string_view line = input.substr(0, lf);
    input = lf == std::string_view::npos ? std::string_view{} : input.substr(lf + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = lower(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "trusted-proxies") {
      trusted_list = value;
      continue;
    }
    request.headers.emplace_back(std::move(name), std::string(value));
  }

  for (const auto& [name, value] : request.headers) {
    if (name == "x-request-id") check_request_id(value);
    if (name == "idempotency-key") check_idempotency_key(value);
    if (const auto node = teamreg::http::parse_forwarded_node(value)) {
      check(*node == teamreg::http::canonical_address(*node), "a forwarded node is not canonical");
    }
  }
  check_cookie(request);
  check_origin(request);

  auto trusted = TrustedProxies::parse(trusted_list);
  if (!trusted) {
    check(!trusted.error().empty(), "a refused proxy list has no reason");
    trusted = TrustedProxies::parse(kTrusted);
    check(trusted.has_value(), "the default proxy list does not parse");
  }
  for (const char* peer : {"10.1.2.3", "::1", "::ffff:10.0.0.9", "2001:db8::7", "203.0.113.9"}) {
    check_client(ip::make_address(peer), request, *trusted);
  }
  return 0;
}
