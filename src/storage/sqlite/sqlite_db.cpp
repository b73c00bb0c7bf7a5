#include "storage/sqlite/sqlite_db.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "storage/sqlite/wal_gathering_vfs.hpp"
#include "storage/store.hpp"

namespace teamreg::storage::sqlite {

void throw_sqlite(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xFF;
  const std::string message = fmt::format("sqlite {} failed: {} ({})", what, sqlite3_errstr(rc),
                                          db != nullptr ? sqlite3_errmsg(db) : "no connection");
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_IOERR ||
      primary == SQLITE_FULL || primary == SQLITE_CANTOPEN || primary == SQLITE_PROTOCOL) {
    throw TransientError(message);
  }
  throw std::runtime_error(message);
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "prepare");
}

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::vector<sqlite3_stmt*>* home)
    : db_(db), stmt_(stmt), home_(home) {}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      constraint_failed_(other.constraint_failed_),
      home_(other.home_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (home_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    try {
      home_->push_back(stmt_);
      return;
    } catch (...) {  // out of memory: finalize instead
    }
  }
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view text) {
  const int rc =
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if ((rc & 0xFF) == SQLITE_CONSTRAINT) {
    constraint_failed_ = true;
    sqlite3_reset(stmt_);
    return false;
  }
  sqlite3_reset(stmt_);
  throw_sqlite(db_, rc, "step");
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  constraint_failed_ = false;
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Connection::Connection(const std::string& path) {
  const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 wal_gathering_vfs());
  if (rc != SQLITE_OK) {
    const std::string message = fmt::format("cannot open SQLite database {}: {}", path,
                                            db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory");
    sqlite3_close(db_);
    throw std::runtime_error(message);
  }
  sqlite3_busy_timeout(db_, 10000);
  sqlite3_extended_result_codes(db_, 1);
  // A constructor that throws runs no destructor: close the handle (and its file) here.
  try {
    // WAL lets readers run beside the one writer; synchronous=FULL makes every COMMIT an fsync of
    // the WAL, so a 201 is only sent for a registration that survives power loss.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Connection::~Connection() {
  for (auto& [sql, idle] : cache_) {
    for (sqlite3_stmt* stmt : idle) sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

Statement Connection::prepare(std::string_view sql) {
  auto slot = cache_.find(sql);
  if (slot == cache_.end() && cache_.size() < kMaxCachedSql) {
    slot = cache_.emplace(std::string(sql), std::vector<sqlite3_stmt*>{}).first;
  }
  if (slot == cache_.end()) return Statement(db_, sql);  // cache full: compiled for one use
  if (!slot->second.empty()) {
    sqlite3_stmt* stmt = slot->second.back();
    slot->second.pop_back();
    return Statement(db_, stmt, &slot->second);
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "prepare");
  return Statement(db_, stmt, &slot->second);
}

void Connection::exec(std::string_view sql) {
  const std::string owned(sql);
  const int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "exec");
}

std::uint64_t memory_used_bytes() {
  return static_cast<std::uint64_t>(sqlite3_memory_used());
}

void limit_memory(std::int64_t bytes) {
  sqlite3_soft_heap_limit64(bytes);
}

ReaderPool::Lease::~Lease() {
  const std::lock_guard lock(pool_.mutex_);
  pool_.idle_.push_back(std::move(connection_));
}

ReaderPool::Lease ReaderPool::acquire() {
  {
    const std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
  }
  return Lease(*this, std::make_unique<Connection>(path_));
}

Transaction::Transaction(Connection& connection, bool immediate) : connection_(connection) {
  connection_.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  connection_.exec("COMMIT");
  done_ = true;
}

}  // namespace teamreg::storage::sqlite
