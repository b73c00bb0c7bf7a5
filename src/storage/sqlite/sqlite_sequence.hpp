#pragma once

#include <optional>
#include <stdexcept>  // store.hpp uses std::runtime_error without including it
#include <string>
#include <string_view>

#include "storage/sqlite/sqlite_db.hpp"
#include "storage/store.hpp"

namespace teamreg::storage::sqlite {

/// The sequence row and the highest number among stored team IDs of its prefix, read on the
/// caller's connection (inside the caller's transaction, so both come from one snapshot).
/// Throws when the sequence row is missing.
SequenceState read_sequence(Connection& connection, const std::string& name);

/// Raises last_number to the highest issued number if behind, never lowers it, and audits a
/// raise. Call inside a write (BEGIN IMMEDIATE) transaction. Returns the state before.
SequenceState raise_to_issued(Connection& connection, const std::string& name,
                              std::string_view actor);

/// For a registration that found its allocated number taken: raises last_number to the highest
/// number stored (under the sequence's prefix or in the sequence itself), never lowers it, and
/// audits the raise from `from` (the value before the failed allocation). Call inside the write
/// transaction. Returns that highest number.
std::int64_t raise_to_highest(Connection& connection, const std::string& name, std::int64_t from,
                              std::string_view actor);

/// Sets last_number (no rule checked here: the caller holds the write lock and has checked).
void set_last_number(Connection& connection, const std::string& name, std::int64_t number);

struct AuditRecord {
  std::string_view actor;
  std::string_view action;
  std::string_view subject;
  std::optional<std::string> from_value;
  std::optional<std::string> to_value;
  std::optional<std::string> detail;
};

/// Appends to audit_log, stamped now, inside the caller's transaction.
void insert_audit(Connection& connection, const AuditRecord& record);

}  // namespace teamreg::storage::sqlite
