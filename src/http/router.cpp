#include "http/router.hpp"

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

bool is_placeholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  auto segments = split_path(pattern);
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(segments), std::move(handler), {}});
}

void Router::add_upload(std::string method, std::string pattern, UploadHandler handler) {
  auto segments = split_path(pattern);
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(segments), {}, std::move(handler)});
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
        params[route.segments[i].substr(1, route.segments[i].size() - 2)] = segments[i];
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
    result.pattern = route.pattern;
    result.method_mismatch = false;
    return result;
  }
  return result;
}

}  // namespace teamreg::http
