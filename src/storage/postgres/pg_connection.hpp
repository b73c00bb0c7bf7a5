#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace teamreg::storage::postgres {

/// A non-retryable database error (constraint, syntax, missing object...). The message carries
/// the SQLSTATE and never SQL text, parameter values or the connection string.
class PgError : public std::runtime_error {
 public:
  PgError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// True for the SQLSTATEs a retry may fix: serialization failure, deadlock, server shutting down
/// or starting, connection exceptions (class 08), too many connections.
bool is_transient_sqlstate(std::string_view sqlstate);

/// One bound parameter, always sent in text format; std::nullopt is SQL NULL.
class Param final {
 public:
  Param(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): reads like a literal NULL
  Param(std::string_view value) : value_(value) {}    // NOLINT(google-explicit-constructor)
  Param(const std::string& value) : value_(value) {}  // NOLINT(google-explicit-constructor)
  Param(const char* value) : value_(value) {}         // NOLINT(google-explicit-constructor)
  Param(std::int64_t value)
      : value_(std::to_string(value)) {}               // NOLINT(google-explicit-constructor)
  Param(int value) : value_(std::to_string(value)) {}  // NOLINT(google-explicit-constructor)
  const char* c_str() const { return value_ ? value_->c_str() : nullptr; }

 private:
  std::optional<std::string> value_;
};

/// Owns a PGresult. Row and column indexes are 0-based.
class Result final {
 public:
  explicit Result(PGresult* result) noexcept : result_(result) {}
  Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result() { PQclear(result_); }

  ExecStatusType status() const { return PQresultStatus(result_); }
  const PGresult* get() const { return result_; }
  int rows() const { return PQntuples(result_); }
  bool is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  /// Valid while this Result lives.
  std::string_view view(int row, int column) const;
  std::string text(int row, int column) const { return std::string(view(row, column)); }
  /// The value as text, or nothing when it is NULL.
  std::optional<std::string> optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
  }
  std::int64_t int64(int row, int column) const;

 private:
  PGresult* result_;
};

/// How long one statement may wait for its answer unless the caller says otherwise.
inline constexpr std::chrono::milliseconds kDefaultStatementTimeout{10000};

/// One libpq connection. Every statement with values goes through PQsendQueryParams with bound
/// parameters; nothing is ever spliced into SQL text.
class Connection final {
 public:
  /// Connects (at most 5 s, or `statement_timeout` if shorter, unless the DSN sets
  /// connect_timeout). An empty DSN or a bare "postgresql://" means the libpq environment
  /// (PGHOST, PGDATABASE, ...). Throws TransientError when the server cannot be reached,
  /// std::runtime_error for an unusable DSN.
  explicit Connection(const std::string& dsn,
                      std::chrono::milliseconds statement_timeout = kDefaultStatementTimeout);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /// Runs one statement. `what` names it in error messages (never the SQL itself). A statement not
  /// answered within the statement timeout (a stalled network or server, which TCP keepalives
  /// take minutes to notice) closes the connection and throws TransientError; broken() is then
  /// true, so a COMMIT cut off this way is known to have an unknown outcome.
  Result exec(std::string_view what, std::string_view sql,
              std::initializer_list<Param> params = {});
  /// Runs a parameterless script of several statements (migrations only; no timeout).
  void exec_script(std::string_view what, std::string_view sql);

  /// False when the connection is known to be unusable. Reads whatever the server sent while the
  /// connection sat idle, so a connection the server closed (restart, idle timeout) is noticed.
  bool check_alive();
  bool broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }
  /// True outside any transaction block.
  bool idle() const { return conn_ != nullptr && PQtransactionStatus(conn_) == PQTRANS_IDLE; }

 private:
  Result check(std::string_view what, Result result);
  [[noreturn]] void fail(std::string_view what, const PGresult* result);
  /// Sends what PQsendQueryParams queued and waits for the complete answer, each within the
  /// deadline; false when the deadline passed or the socket failed.
  bool await_result(std::chrono::steady_clock::time_point deadline);
  /// Closes the connection after a statement timed out: nothing more can be read from it.
  [[noreturn]] void abandon(std::string_view what);

  PGconn* conn_ = nullptr;
  std::string password_;  ///< only to scrub it from libpq messages
  std::chrono::milliseconds statement_timeout_;
};

/// BEGIN on construction; ROLLBACK on destruction unless commit() was called.
class Transaction final {
 public:
  explicit Transaction(Connection& connection, std::string_view begin_sql = "BEGIN");
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Connection& connection_;
  bool done_ = false;
};

struct PoolConfig {
  std::string dsn;
  std::size_t size = 8;
  /// How long a caller waits for a free connection before TransientError (so the request gets 503).
  std::chrono::milliseconds acquire_timeout{5000};
  /// How long one statement (or a new connection) may take: see Connection::exec.
  std::chrono::milliseconds statement_timeout = kDefaultStatementTimeout;
};

/// A bounded pool. Connections are opened lazily, checked when taken, and dropped (to be reopened
/// by a later acquire) when a statement broke them or they were returned inside a transaction.
class ConnectionPool final {
 public:
  class Lease;

  explicit ConnectionPool(PoolConfig config);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool();

  /// A connection for the caller's exclusive use; TransientError when none frees up in time or the
  /// server cannot be reached.
  Lease acquire();

 private:
  void give_back(std::unique_ptr<Connection> connection);

  PoolConfig config_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  ///< idle plus leased plus being opened
};

class ConnectionPool::Lease final {
 public:
  Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection)
      : pool_(&pool), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (connection_) pool_->give_back(std::move(connection_));
  }
  Connection& operator*() { return *connection_; }
  Connection* operator->() { return connection_.get(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace teamreg::storage::postgres
