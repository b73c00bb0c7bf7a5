#pragma once

#include <string_view>

#include "http/router.hpp"

namespace teamreg::web {

/// docs/openapi.yaml as compact JSON, converted at build time (cmake/embed_openapi.cmake).
std::string_view openapi_json();

/// GET /openapi.json: the document, answered on the network thread (no I/O).
void add_openapi_route(http::Router& router);

}  // namespace teamreg::web
