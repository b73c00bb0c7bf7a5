#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "app/config.hpp"
#include "files/blob_store.hpp"
#include "storage/admin_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/store.hpp"

namespace teamreg::app {

/// The stores a process opens from its configuration: SQLite or PostgreSQL (pools bounded by
/// --database-timeout), the local directory or an S3 bucket for documents.
std::unique_ptr<storage::Store> open_store(const AppConfig& config);
/// The admin port on the same database; call after open_store() (which creates the directory).
std::unique_ptr<storage::AdminStore> open_admin_store(const AppConfig& config);
std::unique_ptr<storage::OutboxStore> open_outbox_store(const AppConfig& config);
std::unique_ptr<files::BlobStore> open_blob_store(const AppConfig& config);
/// One line for the startup log: which blob store, where (never a credential).
std::string describe_blob_store(const AppConfig& config);

/// /ready's view of the blob store. A remote probe is three requests: its result is reused for a
/// few seconds, so a load balancer polling /ready does not turn into traffic to the bucket.
class StoreReadiness final {
 public:
  explicit StoreReadiness(files::BlobStore& blobs) : blobs_(blobs) {}
  bool ready();

 private:
  files::BlobStore& blobs_;
  std::mutex mutex_;
  bool ready_ = false;
  std::chrono::steady_clock::time_point fresh_until_{};
};

}  // namespace teamreg::app
