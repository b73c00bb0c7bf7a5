#include "storage/sqlite/sqlite_backup.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/uuid.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace teamreg::storage::sqlite {
namespace {

namespace fs = std::filesystem;

/// One team with one document, inserted the way the schema wants it (no registration/ here).
void insert_team(Connection& db, int number) {
  const std::string team_id = fmt::format("ICCT-{:03}", number);
  Transaction tx(db, /*immediate=*/true);
  db.exec(fmt::format(
      "INSERT INTO teams (team_id, sequence_name, number, request_uuid, team_name, team_key, "
      "church_name, church_key, captain_name, captain_phone, captain_email, vice_name, vice_phone, "
      "vice_email, created_at, updated_at) VALUES ('{0}', 'team', {1}, 'req-{1}', 'T{1}', 't{1}', "
      "'C{1}', 'c{1}', 'Cap', '9{1:09}', 'cap{1}@example.org', 'Vice', '8{1:09}', "
      "'vice{1}@example.org', '2026-12-02T00:00:00Z', '2026-12-02T00:00:00Z')",
      team_id, number));
  db.exec(
      fmt::format("INSERT INTO documents (team_id, field, storage_key, content_type, size_bytes) "
                  "VALUES ('{}', 'pastor_letter', 'key-{:03}', 'application/pdf', 10)",
                  team_id, number));
  db.exec(fmt::format("UPDATE id_sequences SET last_number = {} WHERE name = 'team'", number));
  tx.commit();
}

class SqliteBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(root_);
    SqliteStore store(source_.string());
    store.migrate("team", ids::SequenceFormat{"ICCT", 3});
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_ = fs::temp_directory_path() / ("teamreg-sqlite-backup-" + random_uuid());
  fs::path source_ = root_ / "live.db";
  fs::path copy_ = root_ / "copy.db";
};

TEST_F(SqliteBackupTest, CopiesAConsistentSnapshotWhileAWriterCommits) {
  Connection writer(source_.string());
  for (int n = 1; n <= 20; ++n) insert_team(writer, n);
  std::atomic<bool> stop{false};
  std::atomic<int> committed{20};
  std::thread busy([&] {
    Connection db(source_.string());
    while (!stop && committed < 2000) insert_team(db, ++committed);
  });
  // One page per step: the writer restarts the copy again and again, which must still finish.
  copy_online(source_.string(), copy_.string(),
              OnlineCopyOptions{.pages_per_step = 1, .pause = std::chrono::milliseconds(1)});
  stop = true;
  busy.join();

  const DatabaseContents contents = read_contents(copy_.string());
  EXPECT_GE(contents.teams, 20);
  EXPECT_LE(contents.teams, committed.load());
  ASSERT_EQ(contents.sequences.size(), 1U);
  EXPECT_EQ(contents.sequences[0].name, "team");
  EXPECT_EQ(contents.sequences[0].format.prefix, "ICCT");
  // One transaction of the source: the sequence, the teams and their documents agree.
  EXPECT_EQ(contents.sequences[0].last_number, contents.teams);
  EXPECT_EQ(contents.sequences[0].highest_issued, contents.teams);
  ASSERT_EQ(contents.document_keys.size(), static_cast<std::size_t>(contents.teams));
  EXPECT_EQ(contents.document_keys.front(), "key-001");
  EXPECT_GT(contents.schema_version, 0);
  // Self-contained: rollback-journal mode, nothing beside it.
  EXPECT_FALSE(fs::exists(copy_.string() + "-wal"));
  EXPECT_FALSE(fs::exists(copy_.string() + "-shm"));
}

TEST_F(SqliteBackupTest, ReadingContentsLeavesTheFileUnchanged) {
  {
    Connection writer(source_.string());
    insert_team(writer, 1);
  }
  copy_online(source_.string(), copy_.string());
  const auto size = fs::file_size(copy_);
  const auto modified = fs::last_write_time(copy_);
  EXPECT_EQ(read_contents(copy_.string()).teams, 1);
  EXPECT_EQ(fs::file_size(copy_), size);
  EXPECT_EQ(fs::last_write_time(copy_), modified);
  EXPECT_FALSE(fs::exists(copy_.string() + "-wal"));
}

TEST_F(SqliteBackupTest, ANonDatabaseIsRefused) {
  EXPECT_ANY_THROW(read_contents((root_ / "missing.db").string()));
}

}  // namespace
}  // namespace teamreg::storage::sqlite
