#include "app/stores.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "files/local/local_blob_store.hpp"
#include "files/s3/s3_blob_store.hpp"
#include "storage/postgres/pg_admin_store.hpp"
#include "storage/postgres/pg_outbox_store.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_admin_store.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_outbox_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace teamreg::app {
namespace {

/// How long a request waits for a pooled PostgreSQL connection: 5 s, or --database-timeout if
/// shorter, so that a stalled database fails requests within that bound.
std::chrono::milliseconds acquire_timeout(const AppConfig& config) {
  return std::min(std::chrono::milliseconds(5000), config.database_timeout);
}

}  // namespace

std::unique_ptr<storage::Store> open_store(const AppConfig& config) {
  if (config.uses_postgres()) {
    // The URL may be as bare as "postgresql://": libpq fills the rest from PGHOST, PGUSER, ...
    return std::make_unique<storage::postgres::PgStore>(
        storage::postgres::PgConfig{.dsn = config.database_location(),
                                    .acquire_timeout = acquire_timeout(config),
                                    .statement_timeout = config.database_timeout});
  }
  const std::filesystem::path path(config.database_location());
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  storage::sqlite::limit_memory(storage::sqlite::kMemoryLimitBytes);
  return std::make_unique<storage::sqlite::SqliteStore>(path.string());
}

/// The admin port on the same database; call after open_store() (which creates the directory).
std::unique_ptr<storage::AdminStore> open_admin_store(const AppConfig& config) {
  if (config.uses_postgres()) {
    // Admin traffic is light: a small pool of its own, beside the registration pool.
    return std::make_unique<storage::postgres::PgAdminStore>(storage::postgres::PoolConfig{
        config.database_location(), 4, acquire_timeout(config), config.database_timeout});
  }
  return std::make_unique<storage::sqlite::SqliteAdminStore>(config.database_location());
}

std::unique_ptr<storage::OutboxStore> open_outbox_store(const AppConfig& config) {
  if (config.uses_postgres()) {
    // The worker and the outbox routes: two connections are plenty.
    return std::make_unique<storage::postgres::PgOutboxStore>(storage::postgres::PoolConfig{
        config.database_location(), 2, acquire_timeout(config), config.database_timeout});
  }
  return std::make_unique<storage::sqlite::SqliteOutboxStore>(config.database_location());
}

std::unique_ptr<files::BlobStore> open_blob_store(const AppConfig& config) {
  const std::filesystem::path data_dir(config.data_dir);
  if (config.blobs.remote()) return std::make_unique<files::S3BlobStore>(config.blobs.s3);
  return std::make_unique<files::LocalBlobStore>(data_dir / "documents", data_dir / "staging");
}

std::string describe_blob_store(const AppConfig& config) {
  if (!config.blobs.remote()) return "local directory=" + config.data_dir + "/documents";
  const auto& s3 = config.blobs.s3;
  return fmt::format("s3 location={} endpoint={} region={} path_style={} session_token={}",
                     config.blobs.store, s3.endpoint.empty() ? "aws" : s3.endpoint, s3.region,
                     s3.path_style, s3.session_token.empty() ? "no" : "yes");
}

bool StoreReadiness::ready() {
  const bool remote = blobs_.put_timing() == files::PutTiming::kBeforeCommit;
  const std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!remote || now >= fresh_until_) {
    const auto problem = blobs_.probe();
    if (problem && (!remote || ready_)) spdlog::warn("blob store not ready: {}", *problem);
    ready_ = !problem;
    fresh_until_ = now + std::chrono::seconds(5);
  }
  return ready_;
}

}  // namespace teamreg::app
