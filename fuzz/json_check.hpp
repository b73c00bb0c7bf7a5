#pragma once

#include <boost/json/parse.hpp>
#include <string>
#include <system_error>

#include "check.hpp"
#include "core/error.hpp"

namespace teamreg::fuzz {

/// An error's response body, which may carry client bytes (a field name), must be JSON that a
/// strict parser accepts: Boost.JSON's refuses invalid UTF-8 as well as bad syntax.
inline void check_error_body(const Error& error) {
  const std::string body = error_body(error, "request-id");
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(body, ec);
  check(!ec, "an error body is not valid JSON/UTF-8", body);
  check(parsed.is_object() && parsed.as_object().contains("error_code"),
        "an error body lacks error_code", body);
}

}  // namespace teamreg::fuzz
