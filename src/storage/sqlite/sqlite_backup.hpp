#pragma once

#include <chrono>
#include <string>

#include "storage/database_contents.hpp"

namespace teamreg::storage::sqlite {

struct OnlineCopyOptions {
  int pages_per_step = 256;            ///< pages copied while holding the read snapshot
  std::chrono::milliseconds pause{5};  ///< between steps, so the writer is never starved
  int restarts_before_one_step = 3;    ///< then the rest is copied in one step
};

/// Copies the database at `source` (possibly in use by a running server) to a new file `target`
/// with SQLite's online backup API, step by step: the copy is one consistent transaction of the
/// source. WAL readers never block the writer, and a copy restarted by concurrent writes more than
/// `restarts_before_one_step` times finishes in a single step so that it always ends. The target
/// is left in rollback-journal mode (one self-contained file) and fsynced. Throws on failure.
void copy_online(const std::string& source, const std::string& target,
                 const OnlineCopyOptions& options = {});

/// Reads schema version, sequences, team count and document keys from a database file that no one
/// else uses (a finished snapshot), without changing it. Throws when it is not a teamreg database.
DatabaseContents read_contents(const std::string& path);

}  // namespace teamreg::storage::sqlite
