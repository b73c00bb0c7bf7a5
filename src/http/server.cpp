#include "http/server.hpp"

#include "http/server_impl.hpp"
#include "http/session.hpp"

namespace teamreg::http {

void Server::Impl::accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;
      on_accept_failed(ec);
      return;
    }
    try {
      start_session(std::move(socket), *this);
    } catch (const std::exception& e) {  // out of memory: drop this connection, keep serving
      spdlog::error("cannot start connection error=\"{}\"", e.what());
    }
    accept();
  });
}

/// Out of descriptors (EMFILE/ENFILE) or memory, accept fails at once for as long as the
/// shortage lasts; accepting again straight away would spin a core. Waiting connections stay in
/// the kernel's backlog meanwhile.
void Server::Impl::on_accept_failed(const beast::error_code& ec) {
  if (const auto held_back = accept_failures_.admit()) {
    spdlog::warn("accept failed errno={} error=\"{}\" suppressed={}", ec.value(), ec.message(),
                 *held_back);
  }
  accept_retry_timer_.expires_after(std::chrono::milliseconds(50));
  accept_retry_timer_.async_wait([this](const beast::error_code& wait_ec) {
    if (!wait_ec && acceptor_.is_open()) accept();
  });
}

Server::Server(ServerConfig config, const Router& router, WorkerPool& workers,
               std::function<void(const AccessRecord&)> on_access)
    : impl_(std::make_unique<Impl>(std::move(config), router, workers, std::move(on_access))) {}

Server::~Server() = default;

std::uint16_t Server::listen() {
  return impl_->listen();
}
void Server::run() {
  impl_->run();
}
void Server::stop() {
  impl_->stop();
}

}  // namespace teamreg::http
