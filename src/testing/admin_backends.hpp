#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "core/uuid.hpp"
#include "storage/admin_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/postgres/pg_admin_store.hpp"
#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_outbox_store.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_admin_store.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_outbox_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "testing/pg_server.hpp"

namespace teamreg::testing {

// The databases of the admin tests (service_pgtest.cpp, accounts_pgtest.cpp): each test gets a
// fresh one, SQLite in a temp dir or a new database on the shared throw-away PostgreSQL.

/// One database for one test, SQLite or PostgreSQL: both ports on it, and raw SQL.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::unique_ptr<storage::Store> open_store() = 0;
  virtual std::unique_ptr<storage::AdminStore> open_admin_store() = 0;
  virtual std::unique_ptr<storage::OutboxStore> open_outbox_store() = 0;
  virtual void exec(const std::string& sql) = 0;
};

class SqliteBackend final : public Backend {
 public:
  SqliteBackend()
      : dir_(std::filesystem::temp_directory_path() / ("teamreg-admin-test-" + random_hex(8))),
        path_((dir_ / "teamreg.db").string()) {
    std::filesystem::create_directories(dir_);
  }
  ~SqliteBackend() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::unique_ptr<storage::Store> open_store() override {
    return std::make_unique<storage::sqlite::SqliteStore>(path_);
  }
  std::unique_ptr<storage::AdminStore> open_admin_store() override {
    return std::make_unique<storage::sqlite::SqliteAdminStore>(path_);
  }
  std::unique_ptr<storage::OutboxStore> open_outbox_store() override {
    return std::make_unique<storage::sqlite::SqliteOutboxStore>(path_);
  }
  void exec(const std::string& sql) override { storage::sqlite::Connection(path_).exec(sql); }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

class PgBackend final : public Backend {
 public:
  PgBackend() : dsn_(PgServer::shared().create_database()) {}
  std::unique_ptr<storage::Store> open_store() override {
    return std::make_unique<storage::postgres::PgStore>(storage::postgres::PgConfig{.dsn = dsn_});
  }
  std::unique_ptr<storage::AdminStore> open_admin_store() override {
    return std::make_unique<storage::postgres::PgAdminStore>(
        storage::postgres::PoolConfig{dsn_, 2});
  }
  std::unique_ptr<storage::OutboxStore> open_outbox_store() override {
    return std::make_unique<storage::postgres::PgOutboxStore>(
        storage::postgres::PoolConfig{dsn_, 2});
  }
  void exec(const std::string& sql) override {
    storage::postgres::Connection(dsn_).exec("raw", sql);
  }

 private:
  std::string dsn_;
};

}  // namespace teamreg::testing
