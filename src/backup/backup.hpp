#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <tl/expected.hpp>

#include "backup/manifest.hpp"
#include "files/blob_store.hpp"
#include "storage/database_contents.hpp"
#include "storage/store.hpp"

namespace teamreg::backup {

/// Where `teamreg backup` takes its snapshot from.
struct BackupSource {
  std::string backend;  ///< "sqlite" or "postgresql"
  std::string teamreg_version;
  /// SQLite: writes a consistent copy of the database to `target` and says what it holds.
  /// PostgreSQL: writes nothing (pg_dump takes that snapshot) and says what the live database
  /// holds now. Throws on failure.
  std::function<storage::DatabaseContents(const std::filesystem::path& target)> snapshot;
  bool writes_database = true;
  /// The local document store; nullptr when documents live in an object store (not backed up).
  files::BlobStore* blobs = nullptr;
};

/// Writes a backup into `directory` (missing or empty): the database snapshot, then every
/// document the snapshot references (read through the store, so a document still in staging
/// after its commit is found too; uploads of registrations not in the snapshot are left out),
/// then manifest.json, last, so a directory without one is never taken for a backup.
/// The manifest, or why there is no backup. Throws only on unexpected infrastructure failure.
tl::expected<Manifest, std::string> write_backup(const std::filesystem::path& directory,
                                                 const BackupSource& source);

/// Where `teamreg restore` writes.
struct RestoreTarget {
  std::string backend;  ///< must match the manifest's
  /// The SQLite file to create; empty for PostgreSQL (the operator runs pg_restore).
  std::filesystem::path database_path;
  /// The local document store; nullptr when documents live in an object store.
  files::BlobStore* blobs = nullptr;
  /// A directory on the documents' file system for files on their way in (<data-dir>/staging).
  std::filesystem::path staging_directory;
};

/// Restores the backup in `directory` into an empty target. Refuses, writing nothing, when the
/// manifest is missing or invalid, its backend differs, the target already holds a database or
/// documents, or any file's size or SHA-256 differs from the manifest (the message names the
/// files). Documents first, the database last: a server never finds a database whose documents
/// are not there yet.
tl::expected<Manifest, std::string> restore_backup(const std::filesystem::path& directory,
                                                   const RestoreTarget& target);

/// What a live database holds (PostgreSQL, after pg_dump): schema version, the sequence, and every
/// team's document keys, read through the Store port.
storage::DatabaseContents read_live_contents(storage::Store& store,
                                             const std::string& sequence_name);

}  // namespace teamreg::backup
