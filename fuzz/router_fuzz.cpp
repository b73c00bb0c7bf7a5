// Router path matching, segment percent-decoding and query parameters, on a router holding the
// server's route patterns. A match must be for the request's method, capture exactly the
// pattern's placeholders, decode them as Boost.URL does (where the escapes are well-formed) and
// never hand on a control character; int_query_param must stay within its bounds.
//
// Input: `METHOD target` (split at the first space), the target as Beast hands it on: the path,
// then optionally `?` and the query.

#include <boost/url/decode_view.hpp>
#include <boost/url/pct_string_view.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace {

using teamreg::fuzz::check;
using teamreg::http::Request;
using teamreg::http::Response;
using teamreg::http::Router;

// The patterns the server registers (admin/, registration/, web/, app/): a copy, kept short of
// the asset list. A new kind of pattern belongs here too.
constexpr std::string_view kRoutes[][2] = {
    {"POST", "/api/register/team"},
    {"POST", "/register/team"},
    {"GET", "/api/teams"},
    {"GET", "/api/teams/{team_id}"},
    {"GET", "/api/churches/availability"},
    {"GET", "/admin/teams"},
    {"GET", "/admin/teams/{team_id}"},
    {"GET", "/admin/players/{player_id}"},
    {"PUT", "/admin/teams/{team_id}/confirm"},
    {"PUT", "/admin/teams/{team_id}/reject"},
    {"GET", "/admin/teams/{team_id}/files/{name}"},
    {"GET", "/admin/sequence/current"},
    {"POST", "/admin/sequence/reset"},
    {"GET", "/admin/export.csv"},
    {"GET", "/admin/outbox"},
    {"POST", "/admin/outbox/{id}/retry"},
    {"GET", "/admin/tokens"},
    {"DELETE", "/admin/tokens/{name}"},
    {"POST", "/admin/users/{name}/disable"},
    {"POST", "/admin/users/{name}/password"},
    {"POST", "/admin/session"},
    {"DELETE", "/admin/session"},
    {"GET", "/"},
    {"GET", "/admin"},
    {"GET", "/assets/public/app.js"},
    {"GET", "/health"},
    {"GET", "/metrics"},
};

const Router& router() {
  static const Router instance = [] {
    Router r;
    for (const auto& [method, pattern] : kRoutes) {
      r.add(std::string(method), std::string(pattern), [](const Request&) { return Response{}; });
    }
    return r;
  }();
  return instance;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) out.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string_view method_of(std::string_view pattern) {
  for (const auto& [method, candidate] : kRoutes) {
    if (candidate == pattern) return method;
  }
  return {};
}

void check_match(const Request& request, const Router::Match& match) {
  check(!match.method_mismatch, "a match is also reported as a method mismatch");
  check(method_of(match.pattern) == request.method, "matched a route of another method",
        match.pattern);
  const auto path = segments(request.path);
  const auto pattern = segments(match.pattern);
  check(path.size() == pattern.size(), "matched a pattern with another number of segments");
  std::set<std::string> placeholders;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (!pattern[i].starts_with('{')) {
      check(path[i] == pattern[i], "a literal segment matched something else", path[i]);
      continue;
    }
    const std::string name(pattern[i].substr(1, pattern[i].size() - 2));
    placeholders.insert(name);
    const auto found = request.path_params.find(name);
    check(found != request.path_params.end(), "a placeholder was not captured", name);
    const std::string& value = found->second;
    for (const char c : value) {
      check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F,
            "a captured segment holds a control character");
    }
    // Where the escapes are well-formed, the segment must decode as a URL library decodes it.
    if (const auto encoded = boost::urls::make_pct_string_view(path[i])) {
      std::string decoded;
      for (const char c : **encoded) decoded.push_back(c);
      check(value == decoded, "a segment decoded differently from Boost.URL", value);
    }
  }
  check(request.path_params.size() == placeholders.size(), "captured more than the placeholders");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t space = input.find(' ');
  if (space == std::string_view::npos) return 0;

  Request request;
  request.method = std::string(input.substr(0, space));
  request.target = std::string(input.substr(space + 1));
  // As the session splits it.
  const auto question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);

  const auto match = router().match(request);
  if (match.handler != nullptr) {
    check_match(request, match);
  } else {
    check(request.path_params.empty(), "no match, but path parameters were filled");
  }
  Request again = request;
  again.path_params.clear();
  const auto second = router().match(again);
  check(second.pattern == match.pattern && second.method_mismatch == match.method_mismatch &&
            again.path_params == request.path_params,
        "matching the same request twice gave two answers");

  for (const std::string_view name : {"limit", "offset", "q", "status", "new_number", ""}) {
    (void)request.query_param(name);
  }
  if (const auto limit = teamreg::http::int_query_param(request, "limit", 100, 1, 1000)) {
    check(*limit >= 1 && *limit <= 1000, "int_query_param returned a value out of bounds");
  } else {
    check(limit.error().field == "limit", "int_query_param blamed another parameter");
  }
  return 0;
}
