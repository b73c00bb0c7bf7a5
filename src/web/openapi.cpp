#include "web/openapi.hpp"

namespace teamreg::web {

void add_openapi_route(http::Router& router) {
  router.add_immediate("GET", "/openapi.json", [](const http::Request&) {
    http::Response response = http::json_response(200, std::string(openapi_json()));
    response.headers.emplace_back("Cache-Control", "no-cache");
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return response;
  });
}

}  // namespace teamreg::web
