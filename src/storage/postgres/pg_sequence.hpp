#pragma once

#include <string>

#include "storage/postgres/pg_connection.hpp"
#include "storage/store.hpp"

namespace teamreg::storage::postgres {

/// Locks the sequence row (`FOR UPDATE`, inside the caller's transaction) and only then reads the
/// highest number among stored IDs of its prefix, so the read sees every batch that held the lock
/// before and none can allocate until the caller commits. Shared by sync (PgStore) and reset
/// (PgAdminStore). Throws when the row is missing.
SequenceState lock_sequence(Connection& db, const std::string& name);

}  // namespace teamreg::storage::postgres
