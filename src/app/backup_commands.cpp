#include <filesystem>
#include <iostream>

#include "app/app.hpp"
#include "app/stores.hpp"
#include "backup/backup.hpp"
#include "storage/sqlite/sqlite_backup.hpp"

#ifndef TEAMREG_VERSION
#define TEAMREG_VERSION "unknown"
#endif

namespace teamreg::app {
namespace {

constexpr std::string_view kSequenceName = "team";

std::string backend_of(const AppConfig& config) {
  return config.uses_postgres() ? "postgresql" : "sqlite";
}

void explain_pg_dump(const std::filesystem::path& directory) {
  // Never the DSN itself: it may hold a password.
  std::cout
      << "PostgreSQL: the database is not in this backup. Take it with pg_dump FIRST, then run\n"
         "`teamreg backup` (documents of teams committed in between are then included, which\n"
         "is harmless), e.g.:\n"
         "  pg_dump --format=custom --file="
      << directory.string()
      << ".pgdump \"$TEAMREG_DATABASE\"\n"
         "Keep the .pgdump file with this directory. See docs/operations.md.\n";
}

}  // namespace

int backup(AppConfig config, const std::string& to) {
  const std::filesystem::path directory(to);
  std::unique_ptr<files::BlobStore> blobs;
  if (!config.blobs.remote()) blobs = open_blob_store(config);
  backup::BackupSource source;
  source.backend = backend_of(config);
  source.teamreg_version = TEAMREG_VERSION;
  source.blobs = blobs.get();
  std::unique_ptr<storage::Store> store;
  if (config.uses_postgres()) {
    store = open_store(config);
    source.writes_database = false;
    source.snapshot = [&](const std::filesystem::path&) {
      return backup::read_live_contents(*store, std::string(kSequenceName));
    };
  } else {
    const std::string database = config.database_location();
    if (!std::filesystem::exists(database)) {
      std::cerr << "teamreg backup: no database at " << database << "\n";
      return 1;
    }
    source.snapshot = [database](const std::filesystem::path& target) {
      storage::sqlite::copy_online(database, target.string());
      return storage::sqlite::read_contents(target.string());
    };
  }
  auto manifest = backup::write_backup(directory, source);
  if (!manifest) {
    std::cerr << "teamreg backup: " << manifest.error() << "\n";
    return 1;
  }
  std::size_t documents = manifest->files.size();
  if (!config.uses_postgres()) --documents;
  std::cout << "backup written to " << directory.string() << ": " << manifest->teams << " teams, "
            << documents << " documents, schema version " << manifest->schema_version << "\n";
  for (const auto& sequence : manifest->sequences) {
    std::cout << "sequence " << sequence.name << " last_number=" << sequence.last_number << "\n";
  }
  if (config.blobs.remote()) {
    std::cout << "documents are in " << config.blobs.store
              << " and not in this backup: use the bucket's versioning or replication\n";
  }
  if (config.uses_postgres()) explain_pg_dump(directory);
  return 0;
}

int restore(AppConfig config, const std::string& from) {
  const std::filesystem::path data_dir(config.data_dir);
  std::unique_ptr<files::BlobStore> blobs;
  if (!config.blobs.remote()) {
    blobs = open_blob_store(config);
    blobs->prepare();  // creates <data-dir>/documents if missing, to look into it
  }
  backup::RestoreTarget target;
  target.backend = backend_of(config);
  if (!config.uses_postgres()) target.database_path = config.database_location();
  target.blobs = blobs.get();
  target.staging_directory = data_dir / "staging";
  auto manifest = backup::restore_backup(from, target);
  if (!manifest) {
    std::cerr << "teamreg restore: " << manifest.error() << "\n";
    return 1;
  }
  std::cout << "restored " << manifest->teams << " teams from the backup of "
            << manifest->created_at << " (teamreg " << manifest->teamreg_version << ")\n";
  if (config.uses_postgres()) {
    std::cout << "PostgreSQL: documents restored; restore the database from its pg_dump file into "
                 "a new, empty database, e.g.:\n"
                 "  createdb teamreg_restored\n"
                 "  pg_restore --no-owner --dbname=teamreg_restored "
              << std::filesystem::path(from).string()
              << ".pgdump\n"
                 "then point --database at it and run `teamreg check`.\n";
  } else {
    std::cout << "run `teamreg check` with the same --data-dir before starting the server\n";
  }
  return 0;
}

}  // namespace teamreg::app
