// The server over loopback under concurrent clients and while it stops: what ThreadSanitizer
// (make test-tsan) watches, besides what the assertions check.
#include "http/server.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/worker_pool.hpp"
#include "http/router.hpp"

namespace teamreg::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct Reply {
  unsigned status = 0;
  std::string body;
  bool keep_alive = false;
  bool chunked = false;
  std::optional<std::uint64_t> content_length;
};

/// A blocking HTTP/1.1 client on one connection. Every failure is a value: the tests that stop
/// the server expect refused and reset connections.
class Client final {
 public:
  bool connect(std::uint16_t port) {
    beast::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    return !ec;
  }

  std::optional<Reply> get(const std::string& target, bool keep_alive = true) {
    bhttp::request<bhttp::empty_body> request(bhttp::verb::get, target, 11);
    request.set(bhttp::field::host, "127.0.0.1");
    request.keep_alive(keep_alive);
    beast::error_code ec;
    bhttp::write(socket_, request, ec);
    if (ec) return std::nullopt;
    bhttp::response<bhttp::string_body> response;
    bhttp::read(socket_, buffer_, response, ec);
    if (ec) return std::nullopt;
    std::optional<std::uint64_t> content_length;
    if (response.has_content_length()) {
      content_length = std::stoull(std::string(response[bhttp::field::content_length]));
    }
    return Reply{response.result_int(), response.body(), response.keep_alive(), response.chunked(),
                 content_length};
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_{ioc_};
  beast::flat_buffer buffer_;
};

std::optional<Reply> get_once(std::uint16_t port, const std::string& target) {
  Client client;
  if (!client.connect(port)) return std::nullopt;
  return client.get(target, false);
}

ServerConfig test_config(int io_threads) {
  ServerConfig config;
  config.port = 0;
  config.io_threads = io_threads;
  config.shutdown_grace = 10s;
  return config;
}

/// Server::run() on its own thread, from listen() (so connections queue at once) to a stop.
class RunningServer final {
 public:
  RunningServer(ServerConfig config, const Router& router, WorkerPool& workers,
                std::function<void(const AccessRecord&)> on_access = {})
      : server_(std::move(config), router, workers, std::move(on_access)),
        port_(server_.listen()),
        thread_([this] {
          server_.run();
          stopped_.set_value();
        }) {}
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;
  ~RunningServer() {
    if (!thread_.joinable()) return;
    server_.stop();
    wait_stopped();
  }

  std::uint16_t port() const { return port_; }
  void stop() { server_.stop(); }

  /// Joins run(); a server that does not stop within 30 s is a hang, reported and aborted.
  void wait_stopped() {
    if (stopped_.get_future().wait_for(30s) != std::future_status::ready) {
      std::cerr << "Server::run() did not return within 30 s of stop()" << std::endl;
      std::abort();
    }
    thread_.join();
  }

 private:
  Server server_;
  std::uint16_t port_;
  std::promise<void> stopped_;
  std::thread thread_;
};

TEST(Server, ConcurrentKeepAliveAndFreshConnectionsAreAllAnswered) {
  std::atomic<int> worker_calls{0};
  Router router;
  router.add("GET", "/work/{n}", [&](const Request& request) {
    ++worker_calls;
    return json_response(200, request.path_params.at("n"));
  });
  router.add_immediate("GET", "/live", [](const Request&) { return json_response(200, "live"); });
  WorkerPool workers(4, 1000);
  std::atomic<int> logged{0};
  RunningServer server(test_config(4), router, workers, [&](const AccessRecord& record) {
    if (record.status == 200) ++logged;
  });

  constexpr int kClients = 8;
  constexpr int kRequestsEach = 25;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Client keep_alive;
      if (!keep_alive.connect(server.port())) {
        wrong += kRequestsEach;
        return;
      }
      for (int i = 0; i < kRequestsEach; ++i) {
        const std::string n = std::to_string(c * 1000 + i);
        // Odd requests on the keep-alive connection, even ones each on a fresh connection.
        const auto reply = i % 2 == 1
                               ? keep_alive.get("/work/" + n)
                               : get_once(server.port(), i % 4 == 0 ? "/work/" + n : "/live");
        const std::string expected = i % 4 == 2 ? "live" : n;
        if (!reply || reply->status != 200 || reply->body != expected) ++wrong;
      }
    });
  }
  for (auto& client : clients) client.join();
  server.stop();
  server.wait_stopped();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(worker_calls.load(), kClients * (kRequestsEach / 2 + (kRequestsEach + 3) / 4));
  EXPECT_EQ(logged.load(), kClients * kRequestsEach);
}

TEST(Server, StopAnswersTheRequestsInFlightThenClosesTheirConnections) {
  std::atomic<int> entered{0};
  std::promise<void> release;
  const std::shared_future<void> released = release.get_future().share();
  Router router;
  router.add("GET", "/slow", [&](const Request&) {
    ++entered;
    released.wait();
    return json_response(200, "done");
  });
  WorkerPool workers(4, 100);
  RunningServer server(test_config(2), router, workers);

  constexpr int kClients = 4;
  std::vector<std::optional<Reply>> replies(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Client client;
      if (client.connect(server.port())) replies[static_cast<std::size_t>(c)] = client.get("/slow");
    });
  }
  while (entered.load() < kClients) std::this_thread::sleep_for(1ms);
  server.stop();
  // The acceptor closes at once while the four requests are still held.
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    refused = !get_once(server.port(), "/missing").has_value();
    if (!refused) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(entered.load(), kClients);
  release.set_value();
  for (auto& client : clients) client.join();
  server.wait_stopped();
  for (const auto& reply : replies) {
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 200U);
    EXPECT_EQ(reply->body, "done");
    EXPECT_FALSE(reply->keep_alive);  // answered while draining: the connection closes
  }
}

TEST(Server, StopRacingAConnectionFloodAnswersWholeOrRefuses) {
  // stop() arrives while connections are being accepted on other io threads: the acceptor's
  // close must not race its accept handler (a data race TSan reported on the acceptor).
  Router router;
  router.add_immediate("GET", "/live", [](const Request&) { return json_response(200, "live"); });
  router.add("GET", "/work", [](const Request&) { return json_response(200, "work"); });
  WorkerPool workers(2, 1000);
  for (int round = 0; round < 12; ++round) {
    std::atomic<int> answered{0};
    std::atomic<int> wrong{0};
    std::atomic<bool> stopping{false};
    std::optional<RunningServer> server;
    server.emplace(test_config(4), router, workers, [&](const AccessRecord&) { ++answered; });
    const std::uint16_t port = server->port();
    std::vector<std::thread> clients;
    for (int c = 0; c < 6; ++c) {
      clients.emplace_back([&, c] {
        while (!stopping.load()) {
          const auto reply = get_once(port, c % 2 == 0 ? "/live" : "/work");
          if (!reply) continue;  // refused or reset: the server is stopping
          if (reply->status != 200 || (reply->body != "live" && reply->body != "work")) ++wrong;
        }
      });
    }
    while (answered.load() < 40) std::this_thread::sleep_for(1ms);
    server->stop();
    server->wait_stopped();
    EXPECT_FALSE(get_once(port, "/live").has_value()) << "round " << round;
    stopping = true;
    // A connection accepted just before the stop, its request not yet read, is closed only when
    // the server is destroyed: its client waits until then.
    server.reset();
    for (auto& client : clients) client.join();
    ASSERT_EQ(wrong.load(), 0) << "round " << round;
  }
}

/// `pieces` pieces of text, then the end; a size only when `promise_size`, a throw instead of
/// the last piece when `fail`.
class PiecesBody final : public BodySource {
 public:
  PiecesBody(int pieces, bool promise_size, bool fail)
      : pieces_(pieces), promise_size_(promise_size), fail_(fail) {}
  std::optional<std::uint64_t> size_bytes() const override {
    if (!promise_size_) return std::nullopt;
    return static_cast<std::uint64_t>(pieces_) * piece(0).size();
  }
  std::string_view next() override {
    if (sent_ == pieces_) return {};
    if (fail_ && sent_ == pieces_ - 1) throw std::runtime_error("the store went away");
    current_ = piece(sent_++);
    return current_;
  }

 private:
  static std::string piece(int i) { return "piece " + std::to_string(i % 10) + "\n"; }
  int pieces_;
  bool promise_size_;
  bool fail_;
  int sent_ = 0;
  std::string current_;
};

TEST(Server, BodiesOfUnknownLengthGoChunkedAndAFailureCutsThemShort) {
  Router router;
  router.add("GET", "/stream/{mode}/{n}", [](const Request& request) {
    const std::string& mode = request.path_params.at("mode");
    Response response;
    response.content_type = "text/plain";
    response.body_source = std::make_shared<PiecesBody>(std::stoi(request.path_params.at("n")),
                                                        mode == "sized", mode == "broken");
    return response;
  });
  WorkerPool workers(2, 100);
  std::atomic<std::uint64_t> logged_bytes{0};
  RunningServer server(test_config(2), router, workers,
                       [&](const AccessRecord& record) { logged_bytes += record.bytes_out; });
  std::string expected;
  for (int i = 0; i < 300; ++i) expected += "piece " + std::to_string(i % 10) + "\n";

  Client client;
  ASSERT_TRUE(client.connect(server.port()));
  const auto chunked = client.get("/stream/open/300");
  ASSERT_TRUE(chunked.has_value());
  EXPECT_EQ(chunked->status, 200U);
  EXPECT_TRUE(chunked->chunked);
  EXPECT_FALSE(chunked->content_length);
  EXPECT_EQ(chunked->body, expected);
  EXPECT_TRUE(chunked->keep_alive);
  // The connection stays usable after a chunked body, for an empty one and a sized one.
  const auto empty = client.get("/stream/open/0");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->chunked);
  EXPECT_EQ(empty->body, "");
  const auto sized = client.get("/stream/sized/300");
  ASSERT_TRUE(sized.has_value());
  EXPECT_FALSE(sized->chunked);
  EXPECT_EQ(sized->content_length, expected.size());
  EXPECT_EQ(sized->body, expected);

  // A source that throws after the header has gone: no final chunk, the connection closes, and
  // the client cannot mistake the cut-off body for a whole one.
  Client broken;
  ASSERT_TRUE(broken.connect(server.port()));
  EXPECT_FALSE(broken.get("/stream/broken/50").has_value());
  Client after;
  ASSERT_TRUE(after.connect(server.port()));
  const auto still = after.get("/stream/open/1", false);
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->body, "piece 0\n");
  server.stop();
  server.wait_stopped();
  EXPECT_GE(logged_bytes.load(), 2 * expected.size() + still->body.size());
}

TEST(Server, SigtermStopsItGracefully) {
  Router router;
  router.add_immediate("GET", "/live", [](const Request&) { return json_response(200, "live"); });
  WorkerPool workers(1, 10);
  RunningServer server(test_config(2), router, workers);
  const auto before = get_once(server.port(), "/live");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->status, 200U);
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  server.wait_stopped();
  EXPECT_FALSE(get_once(server.port(), "/live").has_value());
}

}  // namespace
}  // namespace teamreg::http
