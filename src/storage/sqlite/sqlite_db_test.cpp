#include "storage/sqlite/sqlite_db.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/uuid.hpp"

namespace teamreg::storage::sqlite {
namespace {

/// How many of this process's open file descriptors refer to `path`.
int descriptors_open_on(const std::filesystem::path& path) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ignored;
    const auto target = std::filesystem::read_symlink(entry.path(), ignored);
    if (!ignored && target == path) ++count;
  }
  return count;
}

TEST(SqliteConnection, AFailingPragmaInTheConstructorClosesTheHandle) {
  const auto dir = std::filesystem::temp_directory_path() / ("teamreg-db-" + random_uuid());
  std::filesystem::create_directories(dir);
  const auto path = dir / "not-a-database.db";
  {
    // sqlite3_open_v2 opens any file; the first PRAGMA reads the header and fails.
    std::ofstream garbage(path, std::ios::binary);
    garbage << std::string(8192, 'x');
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_ANY_THROW(Connection{path.string()});
  }
  EXPECT_EQ(descriptors_open_on(path), 0) << "the sqlite3 handle leaked with its file";
  std::filesystem::remove_all(dir);
}

/// A database of ~12 MiB (3,000 rows of 4,000 bytes: one leaf page each), and `connections`
/// connections to it, each of which has read every row. Returns how much SQLite's memory grew
/// while they read, and checks every read saw every byte.
std::int64_t memory_growth_of_full_reads(int connections) {
  const auto dir = std::filesystem::temp_directory_path() / ("teamreg-db-" + random_uuid());
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "big.db").string();
  constexpr std::int64_t kRows = 3000;
  constexpr std::int64_t kRowBytes = 4000;
  {
    Connection writer(path);
    writer.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)");
    writer.exec(
        fmt::format("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) "
                    "INSERT INTO t(payload) SELECT randomblob({}) FROM n",
                    kRows, kRowBytes));
    writer.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  std::vector<std::unique_ptr<Connection>> open;
  const auto before = static_cast<std::int64_t>(memory_used_bytes());
  for (int i = 0; i < connections; ++i) {
    open.push_back(std::make_unique<Connection>(path));
    auto sum = open.back()->prepare("SELECT count(*), sum(length(payload)) FROM t");
    EXPECT_TRUE(sum.step());
    EXPECT_EQ(sum.int64(0), kRows);
    EXPECT_EQ(sum.int64(1), kRows * kRowBytes);
  }
  const auto growth = static_cast<std::int64_t>(memory_used_bytes()) - before;
  open.clear();
  std::filesystem::remove_all(dir);
  return growth;
}

TEST(SqliteMemory, EveryConnectionCachesUpToTwoMebibytesWithoutALimit) {
  limit_memory(0);
  // What the limit is for: eight readers of a large database hold ~16 MiB between them.
  EXPECT_GT(memory_growth_of_full_reads(8), std::int64_t{12} << 20);
}

TEST(SqliteMemory, TheLimitStopsThePageCachesGrowingWhateverTheConnections) {
  constexpr std::int64_t kLimit = std::int64_t{4} << 20;
  limit_memory(kLimit);
  const auto before = static_cast<std::int64_t>(memory_used_bytes());
  const auto growth = memory_growth_of_full_reads(8);
  limit_memory(0);
  // Each connection keeps the few pages it has pinned and its schema, past the limit.
  EXPECT_LE(before + growth, kLimit + (std::int64_t{2} << 20)) << "grew by " << growth;
}

}  // namespace
}  // namespace teamreg::storage::sqlite
