#pragma once

#include <string>
#include <vector>

#include "storage/store.hpp"

namespace teamreg::storage {

/// Unique keys the invariants rest on, as "table(columns)": without them a bug in the allocation
/// protocol could store a duplicate ID, e-mail or document silently.
inline const std::vector<std::string>& required_unique_keys() {
  static const std::vector<std::string> kKeys = {
      "teams(team_id)",         "teams(request_uuid)",           "teams(sequence_name,number)",
      "teams(captain_email)",   "teams(team_key,captain_phone)", "players(player_id)",
      "documents(storage_key)", "mail_outbox(team_id)"};
  return kKeys;
}

/// The applied schema version; 0 for an empty database (no schema_migrations table yet).
int schema_version_or_zero(Store& store);

/// Validates a migrated database: schema version equal to this binary's, the sequence row present
/// and not behind the highest issued number, every required unique key in place. Returns one
/// human-readable problem per finding; empty means healthy. Throws if the database is unreachable.
std::vector<std::string> check_schema(Store& store, const std::string& sequence_name,
                                      int expected_version);

}  // namespace teamreg::storage
