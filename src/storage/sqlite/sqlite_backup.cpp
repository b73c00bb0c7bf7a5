#include "storage/sqlite/sqlite_backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "storage/sqlite/sqlite_db.hpp"

namespace teamreg::storage::sqlite {
namespace {

constexpr std::string_view kSelectSchemaVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kSelectTeamCount = "SELECT COUNT(*) FROM teams";
constexpr std::string_view kSelectSequences =
    "SELECT s.name, s.prefix, s.min_width, s.last_number, "
    "COALESCE((SELECT MAX(t.number) FROM teams t WHERE t.sequence_name = s.name), 0) "
    "FROM id_sequences s ORDER BY s.name";
constexpr std::string_view kSelectDocumentKeys =
    "SELECT storage_key FROM documents ORDER BY storage_key";

/// A handle on a plain file through the default VFS, closed on destruction.
class RawDatabase final {
 public:
  RawDatabase(const std::string& path, int flags) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = std::string("cannot open SQLite database ") + path + ": " +
                                  (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory");
      sqlite3_close(db_);
      throw std::runtime_error(message);
    }
    sqlite3_busy_timeout(db_, 10000);
  }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;
  ~RawDatabase() { sqlite3_close_v2(db_); }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db, rc, "exec");
}

void fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int error_number = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("fsync " + path + ": " + std::strerror(error_number));
  }
  ::close(fd);
}

}  // namespace

void copy_online(const std::string& source, const std::string& target,
                 const OnlineCopyOptions& options) {
  // The source through the server's own connection type (its VFS, WAL): a reader beside it.
  Connection from(source);
  {
    RawDatabase to(target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3_backup* backup = sqlite3_backup_init(to.handle(), "main", from.handle(), "main");
    if (backup == nullptr) throw_sqlite(to.handle(), sqlite3_errcode(to.handle()), "backup init");
    int restarts = 0;
    int remaining = -1;
    int rc = SQLITE_OK;
    for (;;) {
      const int pages = restarts >= options.restarts_before_one_step ? -1 : options.pages_per_step;
      rc = sqlite3_backup_step(backup, pages);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
      // A write to the source by another connection restarts the copy from the first page.
      const int now_remaining = sqlite3_backup_remaining(backup);
      if (remaining >= 0 && now_remaining > remaining) ++restarts;
      remaining = now_remaining;
      std::this_thread::sleep_for(options.pause);
    }
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) throw_sqlite(to.handle(), rc, "backup step");
    // One self-contained file: no -wal or -shm beside it in the backup.
    exec(to.handle(), "PRAGMA journal_mode=DELETE");
  }
  fsync_file(target);
}

DatabaseContents read_contents(const std::string& path) {
  RawDatabase db(path, SQLITE_OPEN_READONLY);
  DatabaseContents contents;
  Statement version(db.handle(), kSelectSchemaVersion);
  if (version.step()) contents.schema_version = static_cast<int>(version.int64(0));
  Statement teams(db.handle(), kSelectTeamCount);
  if (teams.step()) contents.teams = teams.int64(0);
  Statement sequences(db.handle(), kSelectSequences);
  while (sequences.step()) {
    SequenceState state;
    state.name = sequences.text(0);
    state.format.prefix = sequences.text(1);
    state.format.min_width = static_cast<int>(sequences.int64(2));
    state.last_number = sequences.int64(3);
    state.highest_issued = sequences.int64(4);
    contents.sequences.push_back(std::move(state));
  }
  Statement keys(db.handle(), kSelectDocumentKeys);
  while (keys.step()) contents.document_keys.push_back(keys.text(0));
  return contents;
}

}  // namespace teamreg::storage::sqlite
