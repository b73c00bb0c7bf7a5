#include "storage/sqlite/sqlite_db.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

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

}  // namespace
}  // namespace teamreg::storage::sqlite
