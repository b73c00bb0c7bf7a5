#include "storage/sqlite/wal_gathering_vfs.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "core/uuid.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace teamreg::storage::sqlite {
namespace {

class WalGatheringVfs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("teamreg-vfs-" + random_uuid());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "test.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::int64_t count(Connection& db) {
    auto select = db.prepare("SELECT COUNT(*), COALESCE(SUM(n), 0) FROM t");
    select.step();
    return select.int64(0);
  }

  static void expect_intact(Connection& db) {
    auto check = db.prepare("PRAGMA integrity_check");
    ASSERT_TRUE(check.step());
    EXPECT_EQ(check.text(0), "ok");
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(WalGatheringVfs, ConnectionsUseItAndTheLogIsWal) {
  Connection db(path_);
  EXPECT_STREQ(sqlite3_vfs_find(wal_gathering_vfs())->zName, wal_gathering_vfs());
  auto mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
}

TEST_F(WalGatheringVfs, ReadersSeeEveryCommitAndNothingIsLostAcrossCheckpointsAndReopen) {
  constexpr int kTransactions = 400;
  {
    Connection writer(path_);
    writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, pad TEXT NOT NULL)");
    writer.exec("PRAGMA wal_autocheckpoint=50");  // several checkpoints and WAL restarts
    std::atomic<bool> done{false};
    std::atomic<int> bad_reads{0};
    std::thread reader([&] {
      Connection db(path_);
      std::int64_t last = 0;
      while (!done) {
        auto select = db.prepare("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM t");
        select.step();
        // A committed transaction is whole and never disappears again.
        if (select.int64(0) != select.int64(1) || select.int64(0) < last) ++bad_reads;
        last = select.int64(0);
      }
    });
    for (int i = 1; i <= kTransactions; ++i) {
      Transaction tx(writer, /*immediate=*/true);
      writer.prepare("INSERT INTO t (id, n, pad) VALUES (?1, ?2, ?3)")
          .bind(1, i)
          .bind(2, i)
          .bind(3, std::string(static_cast<std::size_t>(100 + (i % 7) * 900), 'x'))
          .step();
      if (i % 10 == 0) {  // a rolled-back transaction leaves no trace
        writer.exec("SAVEPOINT s");
        writer.prepare("INSERT INTO t (id, n, pad) VALUES (?1, 0, 'no')")
            .bind(1, 100000 + i)
            .step();
        writer.exec("ROLLBACK TO s");
        writer.exec("RELEASE s");
      }
      tx.commit();
    }
    done = true;
    reader.join();
    EXPECT_EQ(bad_reads.load(), 0);
    EXPECT_EQ(count(writer), kTransactions);
  }
  // A fresh connection (the WAL is replayed or already checkpointed) sees all of it, intact.
  Connection again(path_);
  EXPECT_EQ(count(again), kTransactions);
  expect_intact(again);
}

TEST_F(WalGatheringVfs, TransactionsLargerThanOneWriteOrTheWholeGatherLimitCommitWhole) {
  Connection writer(path_);
  writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, pad TEXT NOT NULL)");
  // ~300 KiB (more than one write of the default VFS) and ~6 MiB (more than is ever gathered).
  int id = 0;
  for (const int rows : {300, 6000}) {
    Transaction tx(writer, /*immediate=*/true);
    for (int i = 0; i < rows; ++i) {
      writer.prepare("INSERT INTO t (id, n, pad) VALUES (?1, ?1, ?2)")
          .bind(1, ++id)
          .bind(2, std::string(1000, 'y'))
          .step();
    }
    tx.commit();
  }
  Connection reader(path_);
  EXPECT_EQ(count(reader), id);
  expect_intact(reader);
}

TEST_F(WalGatheringVfs, CommittedDataSurvivesTheProcessDyingWithoutClosing) {
  // The child commits and then dies without closing anything: only what SQLite synced may count,
  // and all of it must be there.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Connection db(path_);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, pad TEXT NOT NULL)");
    for (int i = 1; i <= 50; ++i) {
      Transaction tx(db, /*immediate=*/true);
      db.prepare("INSERT INTO t (id, n, pad) VALUES (?1, ?1, 'p')").bind(1, i).step();
      tx.commit();
    }
    _exit(0);  // no destructors: nothing gets closed or flushed on the way out
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  Connection db(path_);
  EXPECT_EQ(count(db), 50);
  expect_intact(db);
}

}  // namespace
}  // namespace teamreg::storage::sqlite
