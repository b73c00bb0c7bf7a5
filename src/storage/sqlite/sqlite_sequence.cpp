#include "storage/sqlite/sqlite_sequence.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/clock.hpp"

namespace teamreg::storage::sqlite {
namespace {

constexpr std::string_view kSelectSequence =
    "SELECT prefix, min_width, last_number FROM id_sequences WHERE name = ?1";
// The highest number among stored IDs of this prefix: the suffix must be all digits, so
// foreign or hand-typed IDs (ICCT-X1, OTHER-009) do not disturb it.
constexpr std::string_view kHighestIssued =
    "SELECT COALESCE(MAX(CAST(substr(team_id, length(?1) + 2) AS INTEGER)), 0) FROM teams "
    "WHERE substr(team_id, 1, length(?1) + 1) = ?1 || '-' "
    "AND length(team_id) > length(?1) + 1 AND length(team_id) <= length(?1) + 19 "
    "AND substr(team_id, length(?1) + 2) NOT GLOB '*[^0-9]*'";
constexpr std::string_view kHighestInSequence =
    "SELECT COALESCE(MAX(number), 0) FROM teams WHERE sequence_name = ?1";
constexpr std::string_view kRaiseSequence =
    "UPDATE id_sequences SET last_number = ?2 WHERE name = ?1 AND last_number < ?2";
constexpr std::string_view kSetSequence =
    "UPDATE id_sequences SET last_number = ?2 WHERE name = ?1";
constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (at, actor, action, subject, from_value, to_value, detail) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

void bind_optional(Statement& statement, int index, const std::optional<std::string>& value) {
  if (value) {
    statement.bind(index, *value);
  } else {
    statement.bind_null(index);
  }
}

}  // namespace

SequenceState read_sequence(Connection& connection, const std::string& name) {
  auto select = connection.prepare(kSelectSequence);
  if (!select.bind(1, name).step()) throw std::runtime_error("sequence row missing: " + name);
  SequenceState state{name, ids::SequenceFormat{select.text(0), static_cast<int>(select.int64(1))},
                      select.int64(2), 0};
  auto highest = connection.prepare(kHighestIssued);
  highest.bind(1, state.format.prefix).step();
  state.highest_issued = highest.int64(0);
  return state;
}

SequenceState raise_to_issued(Connection& connection, const std::string& name,
                              std::string_view actor) {
  SequenceState before = read_sequence(connection, name);
  if (before.highest_issued > before.last_number) {
    connection.prepare(kRaiseSequence).bind(1, name).bind(2, before.highest_issued).step();
    insert_audit(
        connection,
        AuditRecord{actor, "sequence.sync", name, std::to_string(before.last_number),
                    std::to_string(before.highest_issued), "raised to the highest issued number"});
  }
  return before;
}

std::int64_t raise_to_highest(Connection& connection, const std::string& name, std::int64_t from,
                              std::string_view actor) {
  const SequenceState state = read_sequence(connection, name);
  auto in_sequence = connection.prepare(kHighestInSequence);
  in_sequence.bind(1, name).step();
  const std::int64_t highest = std::max(state.highest_issued, in_sequence.int64(0));
  if (highest > from) {
    connection.prepare(kRaiseSequence).bind(1, name).bind(2, highest).step();
    insert_audit(connection, AuditRecord{actor, "sequence.heal", name, std::to_string(from),
                                         std::to_string(highest),
                                         "the next number was taken: raised to the highest "
                                         "issued number"});
  }
  return highest;
}

void set_last_number(Connection& connection, const std::string& name, std::int64_t number) {
  auto update = connection.prepare(kSetSequence);
  update.bind(1, name).bind(2, number).step();
  if (update.constraint_failed()) throw std::runtime_error("sequence update violated a constraint");
}

void insert_audit(Connection& connection, const AuditRecord& record) {
  auto insert = connection.prepare(kInsertAudit);
  insert.bind(1, now_iso8601())
      .bind(2, record.actor)
      .bind(3, record.action)
      .bind(4, record.subject);
  bind_optional(insert, 5, record.from_value);
  bind_optional(insert, 6, record.to_value);
  bind_optional(insert, 7, record.detail);
  insert.step();
  if (insert.constraint_failed()) throw std::runtime_error("audit insert violated a constraint");
}

}  // namespace teamreg::storage::sqlite
