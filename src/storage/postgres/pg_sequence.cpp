#include "storage/postgres/pg_sequence.hpp"

#include <stdexcept>

namespace teamreg::storage::postgres {
namespace {

constexpr std::string_view kLockSequence =
    "SELECT prefix, min_width, last_number FROM id_sequences WHERE name = $1 FOR UPDATE";
// The suffix must be all digits, so foreign or hand-typed IDs (ICCT-X1, OTHER-009) do not disturb
// it (PgStore's kSelectSequence reads the same rule in one statement for unlocked reads).
constexpr std::string_view kHighestIssued =
    "SELECT COALESCE(MAX(substr(team_id, length($1) + 2)::bigint), 0) FROM teams "
    "WHERE left(team_id, length($1) + 1) = $1 || '-' "
    "AND substr(team_id, length($1) + 2) ~ '^[0-9]{1,18}$'";

}  // namespace

SequenceState lock_sequence(Connection& db, const std::string& name) {
  const Result row = db.exec("lock sequence", kLockSequence, {name});
  if (row.rows() == 0) throw std::runtime_error("sequence row missing: " + name);
  SequenceState state{name, ids::SequenceFormat{row.text(0, 0), static_cast<int>(row.int64(0, 1))},
                      row.int64(0, 2), 0};
  state.highest_issued =
      db.exec("highest issued", kHighestIssued, {state.format.prefix}).int64(0, 0);
  return state;
}

}  // namespace teamreg::storage::postgres
