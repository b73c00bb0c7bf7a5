#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace teamreg::storage::sqlite {

/// Throws the right exception for a failed SQLite call: TransientError for busy/locked/I/O
/// conditions a retry may fix, std::runtime_error otherwise. Never includes SQL text.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what);

/// Bytes SQLite holds in this process: the page caches, schemas and compiled statements of every
/// connection (sqlite3_memory_used).
std::uint64_t memory_used_bytes();

/// The memory SQLite may hold in this process before its page caches stop growing: once past
/// it, a connection reuses its least recently used cached pages instead of allocating more
/// (sqlite3_soft_heap_limit64; 0 removes the limit). Without it every connection may cache up to
/// 2 MiB (SQLite's default cache_size), and the reader pools open a connection for each thread
/// that reads at once, so the total would grow with the worker threads rather than stop at a
/// figure. Process-wide: the server sets it once, before it opens a database.
void limit_memory(std::int64_t bytes);
/// The server's limit: the whole database of a tournament (a few hundred teams) is well under it.
constexpr std::int64_t kMemoryLimitBytes = std::int64_t{16} << 20;

class Connection;

/// A prepared statement. One from Connection::prepare goes back to its connection's cache on
/// destruction (reset, bindings cleared); one built directly is finalized. Bind indexes are
/// 1-based.
class Statement final {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind_null(int index);

  /// Steps once: true when a row is available; false when done. Throws on error.
  /// SQLITE_CONSTRAINT is reported by returning false and setting constraint_failed().
  bool step();
  bool constraint_failed() const { return constraint_failed_; }
  void reset();

  std::string text(int column) const;
  /// The column's text, or nothing when it is NULL.
  std::optional<std::string> optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }
  std::int64_t int64(int column) const;
  bool is_null(int column) const;

 private:
  friend class Connection;
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::vector<sqlite3_stmt*>* home);

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool constraint_failed_ = false;
  std::vector<sqlite3_stmt*>* home_ = nullptr;  ///< the cache slot it returns to, if any
};

/// One connection, opened with the pragmas teamreg relies on (WAL, synchronous=FULL,
/// foreign keys, busy timeout).
class Connection final {
 public:
  explicit Connection(const std::string& path);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  void exec(std::string_view sql);
  /// A statement for `sql`, compiled once per connection and reused: the registration path runs
  /// the same dozen statements for every team on the committer thread, which bounds throughput.
  Statement prepare(std::string_view sql);
  sqlite3* handle() const { return db_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept {
      return std::hash<std::string_view>{}(sql);
    }
  };
  static constexpr std::size_t kMaxCachedSql = 64;  ///< distinct statements cached at most

  sqlite3* db_ = nullptr;
  /// Idle compiled statements by SQL text. Entries are never erased, so a Statement may keep a
  /// pointer to its slot (node-based map: slots do not move).
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>, Hash, std::equal_to<>> cache_;
};

/// Reader connections to one database file, opened on demand and reused; WAL lets them read beside
/// the writer. A lease gives one connection to one thread and returns it when it goes.
class ReaderPool final {
 public:
  class Lease final {
   public:
    Lease(ReaderPool& pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

   private:
    ReaderPool& pool_;
    std::unique_ptr<Connection> connection_;
  };

  explicit ReaderPool(std::string path) : path_(std::move(path)) {}
  Lease acquire();

 private:
  std::string path_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

/// Rolls back unless commit() is called. `immediate` takes the write lock at BEGIN, which is how
/// SQLite serialises allocations.
class Transaction final {
 public:
  Transaction(Connection& connection, bool immediate);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Connection& connection_;
  bool done_ = false;
};

}  // namespace teamreg::storage::sqlite
