#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/worker_pool.hpp"
#include "http/body_rate.hpp"
#include "http/client_address.hpp"
#include "http/router.hpp"

namespace teamreg::http {

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  int io_threads = 2;
  std::size_t max_header_bytes = 16 * 1024;
  std::uint64_t max_upload_bytes = 100ULL << 20;  ///< whole multipart body, chunked included
  std::size_t max_small_body_bytes = 64 * 1024;   ///< body of every non-upload route
  /// To receive the whole header block; on a kept-alive connection the wait for the next
  /// request counts too, so it is also the keep-alive idle timeout.
  std::chrono::seconds header_timeout{15};
  std::chrono::seconds body_idle_timeout{30};    ///< between two body reads
  std::chrono::seconds body_total_timeout{600};  ///< whole body, so a trickle cannot hold on
  /// A body slower than this (after its grace) is cut off with 408: a client trickling 1 KB/s is
  /// never idle for body_idle_timeout and would otherwise hold its upload slot for 600 s.
  BodyRate min_body_rate{4096, std::chrono::seconds(10)};
  std::chrono::seconds shutdown_grace{20};  ///< for in-flight requests on SIGTERM
  /// Longest wait of an upload for its admission slot (its body unread meanwhile) before 503.
  std::chrono::seconds upload_wait{30};
  std::vector<std::string> cors_origins{"*"};
  TrustedProxies trusted_proxies;  ///< peers whose forwarding headers are believed; none by default
};

/// Event fired once per answered request, for access logs and metrics.
struct AccessRecord {
  std::string request_id;
  std::string method;
  std::string route;  ///< the matched pattern, never the raw path
  unsigned status = 0;
  std::uint64_t bytes_out = 0;
  double ms = 0;
  std::string client_address;  ///< as resolved for rate limits; empty before headers were read
};

/// HTTP/1.1 server on Boost.Beast: keep-alive, header and body limits counted while streaming,
/// read timeouts, X-Request-ID and CORS on every response, graceful stop on SIGTERM/SIGINT.
class Server final {
 public:
  Server(ServerConfig config, const Router& router, WorkerPool& workers,
         std::function<void(const AccessRecord&)> on_access);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and listens; returns the bound port (useful with port 0). Throws when it cannot bind.
  std::uint16_t listen();
  /// Serves until SIGTERM/SIGINT (or stop()), then drains in-flight requests within the grace.
  void run();
  /// Starts a graceful stop from any thread.
  void stop();

  class Impl;  ///< opaque; public only so that the connection code in server.cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace teamreg::http
