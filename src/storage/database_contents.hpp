#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace teamreg::storage {

/// What a backup records about a database: read from a finished snapshot (SQLite) or from the
/// live database (PostgreSQL, where the snapshot is pg_dump's).
struct DatabaseContents {
  int schema_version = 0;
  std::int64_t teams = 0;
  std::vector<SequenceState> sequences;
  /// Every storage key a team's document references.
  std::vector<std::string> document_keys;
};

}  // namespace teamreg::storage
