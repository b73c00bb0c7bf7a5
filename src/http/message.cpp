#include "http/message.hpp"

#include <fmt/format.h>

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

namespace teamreg::http {

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  auto parsed = boost::urls::parse_query(query);
  if (!parsed) return std::nullopt;
  boost::urls::params_view params(*parsed);
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

tl::expected<int, Error> int_query_param(const Request& request, std::string_view name,
                                         int fallback, int min, int max) {
  const auto raw = request.query_param(name);
  if (!raw) return fallback;
  int value = 0;
  const auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), value);
  if (ec != std::errc{} || end != raw->data() + raw->size() || value < min || value > max) {
    return tl::unexpected(validation_error(
        std::string(name), fmt::format("{} must be a number from {} to {}", name, min, max)));
  }
  return value;
}

Response json_response(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Response error_response(const Error& error, std::string_view request_id) {
  Response response = json_response(http_status(error.code), error_body(error, request_id));
  if (error.code == ErrorCode::kRateLimited) response.headers.emplace_back("Retry-After", "60");
  if (error.code == ErrorCode::kServiceUnavailable || error.code == ErrorCode::kStorageFull) {
    response.headers.emplace_back("Retry-After", "5");
  }
  return response;
}

}  // namespace teamreg::http
