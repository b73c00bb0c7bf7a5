#include "http/session.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>
#include <type_traits>

#include "core/uuid.hpp"
#include "http/client_address.hpp"
#include "http/header_values.hpp"

namespace teamreg::http {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::size_t kBodyChunkBytes = 64 * 1024;
/// Beast reads at most the read buffer's spare capacity per recv; left at its header-sized
/// capacity, a 25 KB upload took ~17 recvmsg calls. Grown once for bodies, kept per connection.
constexpr std::size_t kBodyReadBufferBytes = 32 * 1024;
constexpr std::chrono::seconds kLingerTime{5};
/// How often a body being read is checked against ServerConfig::min_body_rate.
constexpr std::chrono::seconds kRateCheckInterval{1};
constexpr std::uint64_t kLingerMaxBytes = 256ULL << 20;
constexpr std::string_view kAllowMethods = "GET, POST, PUT, DELETE, OPTIONS";
constexpr std::string_view kAllowHeaders =
    "Content-Type, Idempotency-Key, Authorization, X-Request-ID";
constexpr std::string_view kExposeHeaders =
    "X-Request-ID, Idempotent-Replayed, Retry-After, Content-Disposition";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server) : stream_(std::move(socket)), server_(server) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  const ServerConfig& config() const { return server_.config(); }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(config().max_header_bytes));
    parser_->body_limit(config().max_upload_bytes);
    request_ = Request{};
    match_ = Router::Match{};
    sink_.reset();
    close_after_ = false;
    answered_ = false;
    stream_.expires_after(config().header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        // Content-Length already says the body is too large: refuse before it is sent.
        begin_request();
        describe_request();
        close_after_ = true;
        respond(error_response(Error{ErrorCode::kPayloadTooLarge,
                                     "Request body exceeds the maximum allowed size",
                                     {},
                                     {}},
                               request_.request_id));
        return;
      }
      if (ec == bhttp::error::header_limit) {
        begin_request();
        close_after_ = true;
        respond(
            error_response(Error{ErrorCode::kBadRequest, "Request headers are too large", {}, {}},
                           request_.request_id),
            431);
        return;
      }
      if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::connection_reset && ec != asio::error::eof &&
          ec != asio::error::operation_aborted) {
        begin_request();
        close_after_ = true;
        respond(error_response(Error{ErrorCode::kBadRequest, "Malformed HTTP request", {}, {}},
                               request_.request_id));
        return;
      }
      close();
      return;
    }
    begin_request();
    describe_request();

    if (request_.method == "OPTIONS") {
      // Preflights are answered here, before any limit, so CORS never fails for a browser.
      route_ = "preflight";
      if (!parser_->is_done()) close_after_ = true;
      Response preflight;
      preflight.status = 204;
      preflight.content_type.clear();
      preflight.headers.emplace_back("Access-Control-Allow-Methods", std::string(kAllowMethods));
      preflight.headers.emplace_back("Access-Control-Allow-Headers", std::string(kAllowHeaders));
      preflight.headers.emplace_back("Access-Control-Max-Age", "600");
      respond(std::move(preflight));
      return;
    }

    match_ = server_.router().match(request_);
    route_ = match_.pattern.empty() ? "unmatched" : match_.pattern;
    if (match_.upload != nullptr) {
      tl::expected<std::unique_ptr<UploadSink>, Error> sink = tl::unexpected(Error{});
      try {
        sink = (*match_.upload)(request_);
      } catch (const std::exception& e) {
        sink = tl::unexpected(fault("upload start", e));
      }
      if (!sink) {
        if (!parser_->is_done()) close_after_ = true;
        respond(error_response(sink.error(), request_.request_id));
        return;
      }
      sink_ = std::move(*sink);
      wait_for_admission();
      return;
    } else if (parser_->content_length() &&
               *parser_->content_length() > config().max_small_body_bytes) {
      close_after_ = true;
      respond(
          error_response(Error{ErrorCode::kPayloadTooLarge, "Request body is too large", {}, {}},
                         request_.request_id));
      return;
    }
    begin_body();
  }

  /// Starts reading the body. A client that sent `Expect: 100-continue` (curl does for bodies over
  /// 1 MiB) waits for a `100 Continue` before sending it, or else sends it after a delay of its own
  /// (curl: 1 s). It gets one only here: once its request passed every check and, for an upload,
  /// got its slot. A request refused earlier gets its final answer instead, as RFC 9110 allows.
  void begin_body() {
    if (!parser_->is_done()) start_rate_watch();
    const auto expect = request_.header("expect");
    if (!expect || lower(*expect) != "100-continue" || parser_->is_done()) {
      read_body();
      return;
    }
    auto interim =
        std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
    stream_.expires_after(config().body_idle_timeout);
    bhttp::async_write(stream_, *interim,
                       [self = shared_from_this(), interim](beast::error_code ec, std::size_t) {
                         if (ec) {
                           self->sink_.reset();
                           self->finish_without_response();
                           return;
                         }
                         self->read_body();
                       });
  }

  /// An exception on this request's path (out of memory, a bug in a sink): logged, and answered
  /// as this request's failure. It must never unwind into the I/O loop, which would end the
  /// process and every other client's request with it.
  Error fault(std::string_view where, const std::exception& e) {
    spdlog::error("request failed where={} request_id={} error=\"{}\"", where, request_.request_id,
                  e.what());
    return Error{ErrorCode::kServiceUnavailable,
                 "The request could not be processed right now; nothing was stored. Please retry.",
                 {},
                 {}};
  }

  /// Uploads over the concurrency cap wait here, their bodies unread, for a bounded time.
  void wait_for_admission() {
    auto self = shared_from_this();
    // Weak: a queued grant must not keep a connection alive past the server's shutdown.
    const bool admitted = sink_->admit([weak = weak_from_this()] {
      if (auto session = weak.lock()) {
        asio::post(session->stream_.get_executor(), [session] { session->on_admitted(); });
      }
    });
    if (admitted) {
      begin_body();
      return;
    }
    waiting_for_admission_ = true;
    admission_timer_.emplace(stream_.get_executor());
    admission_timer_->expires_after(config().upload_wait);
    admission_timer_->async_wait([self](const beast::error_code& ec) {
      if (!ec) self->on_admission_timeout();
    });
  }

  void on_admitted() {
    if (!waiting_for_admission_) return;
    waiting_for_admission_ = false;
    admission_timer_->cancel();
    begin_body();
  }

  void on_admission_timeout() {
    if (!waiting_for_admission_ || !sink_->withdraw()) return;  // else a grant is on its way
    waiting_for_admission_ = false;
    spdlog::warn("upload waited too long for a slot request_id={} waited_s={}", request_.request_id,
                 config().upload_wait.count());
    sink_.reset();
    close_after_ = true;
    respond(error_response(Error{ErrorCode::kServiceUnavailable,
                                 "The server is busy; nothing was stored. Please retry shortly.",
                                 {},
                                 {}},
                           request_.request_id));
  }

  /// Fills the request line, headers and request ID from the parsed header.
  void describe_request() {
    const auto& header = parser_->get();
    request_.method = std::string(header.method_string());
    request_.target = std::string(header.target());
    const auto question = request_.target.find('?');
    request_.path = request_.target.substr(0, question);
    if (question != std::string::npos) request_.query = request_.target.substr(question + 1);
    for (const auto& field : header) {
      request_.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    }
    if (const auto client_id = request_.header("x-request-id");
        client_id && sane_request_id(*client_id)) {
      request_.request_id = std::string(*client_id);
    }
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      auto origin = resolve_client(peer.address(), request_.headers, config().trusted_proxies);
      request_.client_address = std::move(origin.address);
      request_.scheme = std::move(origin.scheme);
    }
  }

  void begin_request() {
    started_ = Clock::now();
    request_.request_id = random_uuid();
    server_.request_started();
    answered_ = false;
  }

  void read_body() {
    if (parser_->is_done()) {
      on_body_done();
      return;
    }
    if (too_slow_) {
      cut_too_slow();
      return;
    }
    if (Clock::now() - started_ > config().body_total_timeout) {
      close_after_ = true;
      sink_.reset();
      respond(error_response(Error{ErrorCode::kBadRequest, "Request body took too long", {}, {}},
                             request_.request_id),
              408);
      return;
    }
    parser_->get().body().data = chunk_.data();
    parser_->get().body().size = chunk_.size();
    if (buffer_.capacity() < kBodyReadBufferBytes) buffer_.reserve(kBodyReadBufferBytes);
    stream_.expires_after(config().body_idle_timeout);
    reading_body_ = true;
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body_read(ec); });
  }

  /// Bytes of the body received so far, including those of a read still in progress.
  std::uint64_t body_bytes_received() const {
    std::uint64_t received = body_bytes_;
    if (reading_body_) received += chunk_.size() - parser_->get().body().size;
    return received;
  }

  /// The minimum-rate rule runs beside the reads: the idle timeout cannot see a trickle, and a
  /// read of one 64 KiB slice may rightly take longer than the grace on a slow link.
  void start_rate_watch() {
    body_started_ = Clock::now();
    body_bytes_ = 0;
    too_slow_ = false;
    if (config().min_body_rate.min_bytes_per_s == 0) return;
    if (!rate_timer_) rate_timer_.emplace(stream_.get_executor());
    watching_rate_ = true;
    schedule_rate_check();
  }

  void schedule_rate_check() {
    rate_timer_->expires_after(kRateCheckInterval);
    rate_timer_->async_wait([weak = weak_from_this()](const beast::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->check_rate();
    });
  }

  void check_rate() {
    if (!watching_rate_) return;
    if (config().min_body_rate.too_slow(Clock::now() - body_started_, body_bytes_received())) {
      too_slow_ = true;
      watching_rate_ = false;
      // A read in progress ends with operation_aborted and on_body_read answers; otherwise the
      // next read_body does.
      if (reading_body_) stream_.cancel();
      return;
    }
    schedule_rate_check();
  }

  void stop_rate_watch() {
    if (!watching_rate_) return;
    watching_rate_ = false;
    rate_timer_->cancel();
  }

  void cut_too_slow() {
    spdlog::info("body too slow request_id={} bytes={} s={:.1f} min_rate={}", request_.request_id,
                 body_bytes_received(),
                 std::chrono::duration<double>(Clock::now() - body_started_).count(),
                 config().min_body_rate.min_bytes_per_s);
    sink_.reset();  // its staged files go now, not when the connection ends
    close_after_ = true;
    respond(error_response(Error{ErrorCode::kBadRequest, "Request body arrived too slowly", {}, {}},
                           request_.request_id),
            408);
  }

  void on_body_read(beast::error_code ec) {
    const std::size_t got = chunk_.size() - parser_->get().body().size;
    reading_body_ = false;
    body_bytes_ += got;
    if (ec && too_slow_) {
      cut_too_slow();
      return;
    }
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::body_limit) {
      close_after_ = true;
      sink_.reset();
      respond(error_response(
          Error{
              ErrorCode::kPayloadTooLarge, "Request body exceeds the maximum allowed size", {}, {}},
          request_.request_id));
      return;
    }
    if (ec) {
      // The client went away or stalled: drop the upload (its sink deletes staged files).
      if (ec == beast::error::timeout) {
        spdlog::info("body read timed out request_id={}", request_.request_id);
      }
      sink_.reset();
      finish_without_response();
      return;
    }
    if (got > 0) {
      const std::string_view bytes(chunk_.data(), got);
      if (sink_) {
        tl::expected<void, Error> ok;
        try {
          ok = sink_->on_body(bytes);
        } catch (const std::exception& e) {
          ok = tl::unexpected(fault("upload body", e));
        }
        if (!ok) {
          close_after_ = true;
          sink_.reset();
          respond(error_response(ok.error(), request_.request_id));
          return;
        }
      } else {
        if (request_.body.size() + got > config().max_small_body_bytes) {
          close_after_ = true;
          respond(error_response(
              Error{ErrorCode::kPayloadTooLarge, "Request body is too large", {}, {}},
              request_.request_id));
          return;
        }
        request_.body.append(bytes);
      }
    }
    read_body();
  }

  void on_body_done() {
    stop_rate_watch();
    stream_.expires_never();
    auto self = shared_from_this();
    Responder responder = [self](Response response) {
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->respond(std::move(response));
      });
    };
    if (sink_) {
      try {
        sink_->on_complete(std::move(responder));
      } catch (const std::exception& e) {
        respond(error_response(fault("upload complete", e), request_.request_id));
      }
      return;
    }
    if (match_.handler == nullptr) {
      const Error error = match_.method_mismatch
                              ? Error{ErrorCode::kMethodNotAllowed, "Method not allowed", {}, {}}
                              : Error{ErrorCode::kNotFound, "No such route", {}, {}};
      respond(error_response(error, request_.request_id));
      return;
    }
    const Handler* handler = match_.handler;
    if (match_.on_network_thread) {
      try {
        respond((*handler)(request_));
      } catch (const std::exception& e) {
        respond(error_response(fault("handler", e), request_.request_id));
      }
      return;
    }
    auto request = std::make_shared<Request>(request_);
    const bool posted = server_.workers().try_post([handler, request, responder] {
      Response response;
      try {
        response = (*handler)(*request);
      } catch (const std::exception& e) {
        spdlog::error("handler failed request_id={} error=\"{}\"", request->request_id, e.what());
        response = error_response(
            Error{ErrorCode::kServiceUnavailable, "The service is temporarily unavailable", {}, {}},
            request->request_id);
      }
      responder(std::move(response));
    });
    if (!posted) {
      respond(error_response(Error{ErrorCode::kServiceUnavailable, "The server is busy", {}, {}},
                             request_.request_id));
    }
  }

  void respond(Response response, unsigned status_override = 0) {
    if (answered_) return;
    answered_ = true;
    stop_rate_watch();
    status_ = status_override != 0 ? status_override : response.status;
    const bool keep_alive = !close_after_ && !server_.draining() && parser_ &&
                            parser_->is_header_done() && parser_->get().keep_alive();
    if (response.body_source) {
      respond_streamed(std::move(response), keep_alive);
      return;
    }
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->body() = std::move(response.body);
    prepare(*message, response, keep_alive);
    bytes_out_ = message->body().size();
    write(message, keep_alive);
  }

  /// A body from a BodySource: the header first, then one piece at a time, each produced on the
  /// worker pool (it may wait on the disk or the object store) and written here.
  struct Streamed {
    bhttp::response<bhttp::buffer_body> message;
    std::optional<bhttp::response_serializer<bhttp::buffer_body>> serializer;
    std::shared_ptr<BodySource> source;
    std::optional<std::uint64_t> size_bytes;  ///< empty: chunked, or ended by closing
    std::uint64_t sent_bytes = 0;
  };

  void respond_streamed(Response response, bool keep_alive) {
    auto streamed = std::make_shared<Streamed>();
    streamed->source = std::move(response.body_source);
    streamed->size_bytes = streamed->source->size_bytes();
    streamed->message.body().data = nullptr;
    streamed->message.body().more = true;
    // HTTP/1.0 has no chunked encoding: a body of unknown length ends when the connection does.
    const bool http10 = parser_ && parser_->get().version() < 11;
    if (!streamed->size_bytes && http10) keep_alive = false;
    prepare(streamed->message, response, keep_alive);
    if (streamed->size_bytes) {
      streamed->message.content_length(*streamed->size_bytes);
      bytes_out_ = *streamed->size_bytes;
    } else {
      bytes_out_ = 0;  // counted as the pieces go out
      if (!http10) streamed->message.chunked(true);
    }
    streamed->serializer.emplace(streamed->message);
    stream_.expires_after(std::chrono::seconds(60));
    bhttp::async_write_header(
        stream_, *streamed->serializer,
        [self = shared_from_this(), streamed, keep_alive](beast::error_code ec, std::size_t) {
          if (ec) {
            self->on_write(ec, keep_alive);
            return;
          }
          self->produce(streamed, keep_alive);
        });
  }

  void produce(const std::shared_ptr<Streamed>& streamed, bool keep_alive) {
    auto self = shared_from_this();
    const bool posted = server_.workers().try_post([self, streamed, keep_alive] {
      std::string_view piece;
      bool failed = false;
      try {
        piece = streamed->source->next();
      } catch (const std::exception& e) {
        failed = true;
        spdlog::error("response body failed request_id={} sent_bytes={} error=\"{}\"",
                      self->request_.request_id, streamed->sent_bytes, e.what());
      }
      asio::post(self->stream_.get_executor(), [self, streamed, keep_alive, piece, failed] {
        self->write_piece(streamed, keep_alive, piece, failed);
      });
    });
    if (!posted) {
      spdlog::error("response body abandoned request_id={}: worker queue full",
                    request_.request_id);
      on_write(bhttp::error::partial_message, keep_alive);
    }
  }

  void write_piece(const std::shared_ptr<Streamed>& streamed, bool keep_alive,
                   std::string_view piece, bool failed) {
    const auto& size = streamed->size_bytes;
    const bool too_long = size && streamed->sent_bytes + piece.size() > *size;
    const bool too_short = size && piece.empty() && streamed->sent_bytes != *size;
    if (!size) bytes_out_ += piece.size();
    if (failed || too_long || too_short) {
      if (!failed) {
        spdlog::error("response body size mismatch request_id={} promised={} produced={}",
                      request_.request_id, *size, streamed->sent_bytes + piece.size());
      }
      on_write(bhttp::error::partial_message, keep_alive);
      return;
    }
    auto& body = streamed->message.body();
    body.data = piece.empty() ? nullptr : const_cast<char*>(piece.data());
    body.size = piece.size();
    body.more = !piece.empty();
    streamed->sent_bytes += piece.size();
    stream_.expires_after(std::chrono::seconds(60));
    bhttp::async_write(stream_, *streamed->serializer,
                       [self = shared_from_this(), streamed, keep_alive, last = piece.empty()](
                           beast::error_code ec, std::size_t) {
                         if (ec == bhttp::error::need_buffer) ec = {};
                         if (ec || last) {
                           self->on_write(ec, keep_alive);
                           return;
                         }
                         self->produce(streamed, keep_alive);
                       });
  }

  /// Status and headers shared by every response: X-Request-ID, CORS, keep-alive, length.
  template <class Message>
  void prepare(Message& message, const Response& response, bool keep_alive) {
    message.version(11);
    message.result(static_cast<bhttp::status>(status_));
    message.set(bhttp::field::server, "teamreg");
    if (!response.content_type.empty()) {
      message.set(bhttp::field::content_type, response.content_type);
    }
    message.set("X-Request-ID", request_.request_id);
    const auto origin = request_.header("origin");
    if (auto allowed = server_.allowed_origin(origin ? *origin : std::string_view{})) {
      message.set(bhttp::field::access_control_allow_origin, *allowed);
      message.set(bhttp::field::access_control_expose_headers, kExposeHeaders);
      if (*allowed != "*") message.set(bhttp::field::vary, "Origin");
    }
    for (const auto& [name, value] : response.headers) message.set(name, value);
    message.keep_alive(keep_alive);
    // A streamed body's length is known only to its source: respond_streamed sets it.
    if constexpr (!std::is_same_v<typename Message::body_type, bhttp::buffer_body>) {
      message.prepare_payload();
    }
  }

  template <class Message>
  void write(const std::shared_ptr<Message>& message, bool keep_alive) {
    stream_.expires_after(std::chrono::seconds(60));
    bhttp::async_write(stream_, *message,
                       [self = shared_from_this(), message, keep_alive](
                           beast::error_code ec, std::size_t) { self->on_write(ec, keep_alive); });
  }

  void on_write(beast::error_code ec, bool keep_alive) {
    log_access();
    server_.request_finished();
    if (ec) {
      close();
      return;
    }
    if (!keep_alive) {
      linger_close();
      return;
    }
    read_header();
  }

  void finish_without_response() {
    stop_rate_watch();
    status_ = 499;  // nginx's "client closed request": logged, never sent
    bytes_out_ = 0;
    log_access();
    server_.request_finished();
    close();
  }

  void log_access() {
    AccessRecord record{request_.request_id,
                        request_.method,
                        route_,
                        status_,
                        bytes_out_,
                        std::chrono::duration<double, std::milli>(Clock::now() - started_).count(),
                        request_.client_address};
    server_.access(record);
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  /// Like nginx's lingering close: after answering early (413, 415, 429…) the client may still be
  /// sending its body, and closing at once would make the kernel reset the connection and destroy
  /// the response before the client reads it. So stop sending, then read and discard for a short,
  /// bounded while before closing.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    linger_deadline_ = Clock::now() + kLingerTime;
    discard();
  }

  void discard() {
    if (Clock::now() >= linger_deadline_ || lingered_bytes_ >= kLingerMaxBytes) {
      stream_.close();
      return;
    }
    stream_.expires_at(linger_deadline_);
    stream_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) {
                                self->stream_.close();
                                return;
                              }
                              self->lingered_bytes_ += n;
                              self->discard();
                            });
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> parser_;
  std::array<char, kBodyChunkBytes> chunk_{};
  Request request_;
  Router::Match match_;
  std::string route_;
  std::unique_ptr<UploadSink> sink_;
  std::optional<asio::steady_timer> admission_timer_;
  bool waiting_for_admission_ = false;
  std::optional<asio::steady_timer> rate_timer_;
  Clock::time_point body_started_{};
  std::uint64_t body_bytes_ = 0;  ///< of the current request, counted as reads complete
  bool reading_body_ = false;
  bool watching_rate_ = false;
  bool too_slow_ = false;
  Clock::time_point started_{};
  bool close_after_ = false;
  bool answered_ = false;
  unsigned status_ = 0;
  std::uint64_t bytes_out_ = 0;
  Clock::time_point linger_deadline_{};
  std::uint64_t lingered_bytes_ = 0;
};

}  // namespace

void start_session(tcp::socket socket, Server::Impl& server) {
  std::make_shared<Session>(std::move(socket), server)->start();
}

}  // namespace teamreg::http
