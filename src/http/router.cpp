#include "http/router.hpp"

#include <algorithm>

namespace teamreg::http {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) segments.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// A captured segment as the client meant it (`ICCT%2D007` is `ICCT-007`). A malformed escape is
/// kept literally; handlers still validate what they receive.
std::string decode_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size()) {
      const int high = hex_value(segment[i + 1]);
      const int low = hex_value(segment[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(segment[i]);
  }
  return out;
}

bool is_placeholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  auto segments = split_path(pattern);
  routes_.push_back(Route{
      std::move(method), std::move(pattern), std::move(segments), std::move(handler), {}, false});
}

void Router::add_immediate(std::string method, std::string pattern, Handler handler) {
  add(std::move(method), std::move(pattern), std::move(handler));
  routes_.back().on_network_thread = true;
}

void Router::add_upload(std::string method, std::string pattern, UploadHandler handler) {
  auto segments = split_path(pattern);
  routes_.push_back(Route{
      std::move(method), std::move(pattern), std::move(segments), {}, std::move(handler), false});
}

Router::Match Router::match(Request& request) const {
  const auto segments = split_path(request.path);
  Match result;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i) {
      if (is_placeholder(route.segments[i])) {
        std::string value = decode_segment(segments[i]);
        // No identifier holds control characters, and a C-string database API would cut a value
        // at an encoded NUL (`ICCT-001%00` must not find ICCT-001): such a path matches nothing.
        ok = std::none_of(value.begin(), value.end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
        params[route.segments[i].substr(1, route.segments[i].size() - 2)] = std::move(value);
      } else {
        ok = route.segments[i] == segments[i];
      }
    }
    if (!ok) continue;
    if (route.method != request.method) {
      result.method_mismatch = true;
      continue;
    }
    request.path_params = std::move(params);
    result.handler = route.handler ? &route.handler : nullptr;
    result.upload = route.upload ? &route.upload : nullptr;
    result.on_network_thread = route.on_network_thread;
    result.pattern = route.pattern;
    result.method_mismatch = false;
    return result;
  }
  return result;
}

}  // namespace teamreg::http
