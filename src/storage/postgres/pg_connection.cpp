#include "storage/postgres/pg_connection.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <vector>

#include "storage/store.hpp"

namespace teamreg::storage::postgres {
namespace {

/// One line, fit for `error="..."` in a log line, without the password should libpq or the
/// server ever echo it.
std::string scrub(std::string_view text, const std::string& password) {
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == '"') c = '\'';  // log lines quote messages with "
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (!password.empty()) {
    for (auto at = line.find(password); at != std::string::npos; at = line.find(password, at)) {
      line.replace(at, password.size(), "***");
    }
  }
  return line;
}

void drop_notice(void* /*arg*/, const char* message) {
  // Notices ("relation already exists, skipping", the FATAL a restarting server sends to idle
  // connections) must not reach stderr; they are debugging material at most.
  spdlog::debug("postgres notice message=\"{}\"", scrub(message, {}));
}

/// The password of a DSN (or PGPASSWORD), so it can be scrubbed from messages. Throws for a DSN
/// libpq cannot parse, without repeating libpq's message (it may quote part of the DSN).
std::string password_of(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    throw std::runtime_error("invalid PostgreSQL connection string (not shown)");
  }
  std::string password;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(options);
  if (password.empty()) {
    if (const char* env = std::getenv("PGPASSWORD")) password = env;
  }
  return password;
}

}  // namespace

bool is_transient_sqlstate(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03" || sqlstate == "53300" || sqlstate.starts_with("08");
}

std::string_view Result::view(int row, int column) const {
  return std::string_view(PQgetvalue(result_, row, column),
                          static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::int64_t Result::int64(int row, int column) const {
  const std::string_view text = view(row, column);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw std::runtime_error(fmt::format("postgres column {} is not an integer", column));
  }
  return value;
}

Connection::Connection(const std::string& dsn, std::chrono::milliseconds statement_timeout)
    : password_(password_of(dsn)), statement_timeout_(statement_timeout) {
  // Defaults first: the DSN (expanded from "dbname") and the PG* environment override them.
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  const auto add_default = [&](const char* keyword, const char* env, const char* value) {
    if (std::getenv(env) != nullptr) return;
    keywords.push_back(keyword);
    values.push_back(value);
  };
  // libpq counts whole seconds and takes at least 2.
  const auto timeout_s = std::chrono::ceil<std::chrono::seconds>(statement_timeout).count();
  const std::string connect_timeout = std::to_string(std::clamp<long long>(timeout_s, 2, 5));
  add_default("connect_timeout", "PGCONNECT_TIMEOUT", connect_timeout.c_str());
  add_default("application_name", "PGAPPNAME", "teamreg");
  // A peer that vanished without closing the socket is noticed in about a minute, not hours.
  keywords.insert(keywords.end(), {"keepalives_idle", "keepalives_interval", "keepalives_count"});
  values.insert(values.end(), {"30", "10", "3"});
  keywords.push_back("dbname");
  values.push_back(dsn.c_str());
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn_ == nullptr) throw TransientError("postgres connect failed: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string message =
        fmt::format("postgres connect failed: {}", scrub(PQerrorMessage(conn_), password_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw TransientError(message);
  }
  PQsetNoticeProcessor(conn_, drop_notice, nullptr);
  // Non-blocking sends, so that exec() can wait on the socket with a deadline (PQexec in
  // exec_script still blocks, as libpq documents).
  if (PQsetnonblocking(conn_, 1) != 0) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw TransientError("postgres connect failed: cannot make the connection non-blocking");
  }
  // The batch function's race safety rests on READ COMMITTED's fresh snapshot per statement; a
  // database whose default is REPEATABLE READ would turn every contended batch into a 40001 retry.
  try {
    exec("set isolation", "SET default_transaction_isolation = 'read committed'");
  } catch (...) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

void Connection::fail(std::string_view what, const PGresult* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string detail;
  if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) {
    // Data and constraint errors can quote the offending values (personal data): name the
    // constraint only.
    const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
    detail = fmt::format("constraint={}", constraint != nullptr ? constraint : "-");
  } else if (const char* primary = result != nullptr
                                       ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)
                                       : nullptr) {
    detail = scrub(primary, password_);
  } else {
    detail = scrub(PQerrorMessage(conn_), password_);
  }
  const std::string message = fmt::format("postgres {} failed sqlstate={} error=\"{}\"", what,
                                          sqlstate.empty() ? "none" : sqlstate, detail);
  if (broken() || is_transient_sqlstate(sqlstate)) throw TransientError(message);
  throw PgError(message, sqlstate);
}

Result Connection::exec(std::string_view what, std::string_view sql,
                        std::initializer_list<Param> params) {
  if (conn_ == nullptr) {
    throw TransientError(fmt::format("postgres {} failed: the connection was closed", what));
  }
  const auto deadline = std::chrono::steady_clock::now() + statement_timeout_;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p.c_str());
  const std::string query(sql);
  if (PQsendQueryParams(conn_, query.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, /*resultFormat=*/0) == 0) {
    fail(what, nullptr);
  }
  if (!await_result(deadline)) {
    if (broken()) fail(what, nullptr);
    abandon(what);
  }
  // One statement, one result (or the error that ended it); then NULL.
  Result result(PQgetResult(conn_));
  while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  if (result.get() == nullptr) fail(what, nullptr);
  return check(what, std::move(result));
}

bool Connection::await_result(std::chrono::steady_clock::time_point deadline) {
  const auto wait = [&](short events) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{PQsocket(conn_), events, 0};
    if (fd.fd < 0) return false;
    const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    return ready > 0 || (ready < 0 && errno == EINTR);
  };
  for (;;) {  // everything queued goes out first
    const int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0 || !wait(POLLOUT | POLLIN)) return false;
    if (PQconsumeInput(conn_) == 0) return false;
  }
  while (PQisBusy(conn_) != 0) {
    if (!wait(POLLIN) || PQconsumeInput(conn_) == 0) return false;
  }
  return true;
}

void Connection::abandon(std::string_view what) {
  // No cancel request: it would need a new connection to the same stalled server. Closing the
  // socket ends the backend's transaction (rolled back unless a COMMIT had already arrived).
  PQfinish(conn_);
  conn_ = nullptr;
  throw TransientError(
      fmt::format("postgres {} failed: no answer within {} ms", what, statement_timeout_.count()));
}

Result Connection::check(std::string_view what, Result result) {
  const ExecStatusType status = result.status();
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  fail(what, result.get());
}

void Connection::exec_script(std::string_view what, std::string_view sql) {
  if (conn_ == nullptr) {
    throw TransientError(fmt::format("postgres {} failed: the connection was closed", what));
  }
  const std::string script(sql);
  check(what, Result(PQexec(conn_, script.c_str())));
}

bool Connection::check_alive() {
  if (broken()) return false;  // also when closed after a timeout
  // libpq keeps the socket non-blocking: read what arrived while idle (a closing server sends
  // an error, then EOF) until nothing more is ready.
  for (int i = 0; i < 8; ++i) {
    pollfd fd{PQsocket(conn_), POLLIN, 0};
    if (fd.fd < 0) return false;
    if (::poll(&fd, 1, 0) <= 0) break;
    if (PQconsumeInput(conn_) == 0) return false;
    while (PGnotify* notify = PQnotifies(conn_)) PQfreemem(notify);
  }
  return !broken();
}

Transaction::Transaction(Connection& connection, std::string_view begin_sql)
    : connection_(connection) {
  connection_.exec("begin", begin_sql);
}

Transaction::~Transaction() {
  if (done_ || connection_.broken()) return;
  try {
    connection_.exec("rollback", "ROLLBACK");
  } catch (const std::exception& e) {
    spdlog::warn("postgres rollback failed error=\"{}\"", e.what());
  }
}

void Transaction::commit() {
  done_ = true;  // whatever COMMIT answers, there is nothing left to roll back
  connection_.exec("commit", "COMMIT");
}

ConnectionPool::ConnectionPool(PoolConfig config) : config_(std::move(config)) {
  if (config_.size == 0) config_.size = 1;
}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease ConnectionPool::acquire() {
  std::unique_ptr<Connection> connection;
  {
    std::unique_lock lock(mutex_);
    const bool available = freed_.wait_for(
        lock, config_.acquire_timeout, [this] { return !idle_.empty() || open_ < config_.size; });
    if (!available) {
      throw TransientError(fmt::format("postgres connection pool exhausted size={} waited_ms={}",
                                       config_.size, config_.acquire_timeout.count()));
    }
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  if (connection && connection->check_alive()) return Lease(*this, std::move(connection));
  // A dead idle connection keeps its slot and is replaced; connecting happens outside the lock.
  connection.reset();
  try {
    connection = std::make_unique<Connection>(config_.dsn, config_.statement_timeout);
  } catch (...) {
    {
      const std::lock_guard lock(mutex_);
      --open_;
    }
    freed_.notify_one();
    throw;
  }
  return Lease(*this, std::move(connection));
}

void ConnectionPool::give_back(std::unique_ptr<Connection> connection) {
  const bool reusable = !connection->broken() && connection->idle();
  if (!reusable) connection.reset();
  {
    const std::lock_guard lock(mutex_);
    if (reusable) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
  }
  freed_.notify_one();
}

}  // namespace teamreg::storage::postgres
