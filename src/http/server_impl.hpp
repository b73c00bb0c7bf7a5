#pragma once

// Internal to http/: the server's shared state, seen by the acceptor (server.cpp) and by every
// connection (session.cpp). Nothing outside http/ includes this.

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/burst_log.hpp"
#include "http/server.hpp"

namespace teamreg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

class Server::Impl {
 public:
  Impl(ServerConfig config, const Router& router, WorkerPool& workers,
       std::function<void(const AccessRecord&)> on_access)
      : config_(std::move(config)),
        router_(router),
        workers_(workers),
        on_access_(std::move(on_access)),
        ioc_(config_.io_threads),
        control_(asio::make_strand(ioc_)),
        acceptor_(control_),
        signals_(control_, SIGTERM, SIGINT),
        drain_timer_(control_),
        accept_retry_timer_(control_) {}

  std::uint16_t listen() {
    const tcp::endpoint endpoint(asio::ip::make_address(config_.host), config_.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    return acceptor_.local_endpoint().port();
  }

  void run() {
    signals_.async_wait([this](const beast::error_code& ec, int signal) {
      if (!ec) {
        spdlog::info("shutdown requested signal={}", signal);
        begin_stop();
      }
    });
    accept();
    std::vector<std::thread> threads;
    for (int i = 1; i < config_.io_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : threads) t.join();
  }

  void stop() {
    asio::post(control_, [this] { begin_stop(); });
  }

  const ServerConfig& config() const { return config_; }
  const Router& router() const { return router_; }
  WorkerPool& workers() { return workers_; }
  bool draining() const { return draining_.load(); }
  void request_started() { ++in_flight_; }
  void request_finished() { --in_flight_; }
  void access(const AccessRecord& record) {
    if (on_access_) on_access_(record);
  }

  /// CORS headers for a response to a request with this Origin (may be empty).
  std::optional<std::string> allowed_origin(std::string_view origin) const {
    for (const auto& allowed : config_.cors_origins) {
      if (allowed == "*") return std::string("*");
      if (!origin.empty() && allowed == origin) return std::string(origin);
    }
    return std::nullopt;
  }

 private:
  void accept();
  void on_accept_failed(const beast::error_code& ec);

  void begin_stop() {
    if (draining_.exchange(true)) return;
    beast::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
    accept_retry_timer_.cancel();
    deadline_ = Clock::now() + config_.shutdown_grace;
    wait_for_drain();
  }

  void wait_for_drain() {
    if (in_flight_.load() == 0 || Clock::now() >= deadline_) {
      if (in_flight_.load() != 0) {
        spdlog::warn("shutdown grace elapsed in_flight={}", in_flight_.load());
      }
      ioc_.stop();
      return;
    }
    drain_timer_.expires_after(std::chrono::milliseconds(50));
    drain_timer_.async_wait([this](const beast::error_code&) { wait_for_drain(); });
  }

  ServerConfig config_;
  const Router& router_;
  WorkerPool& workers_;
  std::function<void(const AccessRecord&)> on_access_;
  asio::io_context ioc_;
  /// The acceptor, the signal set and both timers are not thread-safe, and their handlers would
  /// otherwise run on any io thread: an accept completing on one thread while a stop (or SIGTERM)
  /// closes the acceptor on another was a data race (found by TSan). Everything touching them
  /// runs on this strand.
  asio::strand<asio::io_context::executor_type> control_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  asio::steady_timer accept_retry_timer_;
  BurstLog accept_failures_;
  std::atomic<bool> draining_{false};
  std::atomic<int> in_flight_{0};
  Clock::time_point deadline_{};
};

}  // namespace teamreg::http
