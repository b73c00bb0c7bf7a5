#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace teamreg::http {

/// Maps method + path to a handler. Patterns are literal segments or `{name}` placeholders,
/// e.g. `/api/teams/{team_id}`; captured segments land in Request::path_params.
class Router final {
 public:
  struct Match {
    const Handler* handler = nullptr;
    const UploadHandler* upload = nullptr;
    std::string pattern;  ///< for logs and metrics: never the raw path (it may hold personal data)
    bool method_mismatch = false;    ///< the path exists, but not for this method
    bool on_network_thread = false;  ///< see add_immediate()
  };

  void add(std::string method, std::string pattern, Handler handler);
  /// A handler that does no I/O and never blocks (liveness): answered on the network thread, so
  /// it answers even when every worker is stuck on a database that stopped responding.
  void add_immediate(std::string method, std::string pattern, Handler handler);
  void add_upload(std::string method, std::string pattern, UploadHandler handler);
  /// Fills request.path_params on a match.
  Match match(Request& request) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    UploadHandler upload;
    bool on_network_thread = false;
  };
  std::vector<Route> routes_;
};

}  // namespace teamreg::http
