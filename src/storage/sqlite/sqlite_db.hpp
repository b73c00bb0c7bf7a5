#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace teamreg::storage::sqlite {

/// Throws the right exception for a failed SQLite call: TransientError for busy/locked/I/O
/// conditions a retry may fix, std::runtime_error otherwise. Never includes SQL text.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what);

/// A prepared statement; finalized on destruction. Bind indexes are 1-based.
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
  std::int64_t int64(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool constraint_failed_ = false;
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
  Statement prepare(std::string_view sql) { return Statement(db_, sql); }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
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
