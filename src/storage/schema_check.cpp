#include "storage/schema_check.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace teamreg::storage {

int schema_version_or_zero(Store& store) {
  try {
    return store.schema_version();
  } catch (const TransientError&) {
    throw;
  } catch (const std::exception&) {
    return 0;
  }
}

std::vector<std::string> check_schema(Store& store, const std::string& sequence_name,
                                      int expected_version) {
  std::vector<std::string> problems;
  const int version = schema_version_or_zero(store);
  if (version < expected_version) {
    problems.push_back(
        fmt::format("schema version {} is older than this binary's {}: run `teamreg migrate`",
                    version, expected_version));
  } else if (version > expected_version) {
    problems.push_back(fmt::format(
        "schema version {} is newer than this binary's {}: upgrade teamreg before serving", version,
        expected_version));
  }
  if (version == 0) return problems;  // nothing else can exist yet
  try {
    const SequenceState state = store.sequence(sequence_name);
    if (state.last_number < state.highest_issued) {
      problems.push_back(fmt::format(
          "sequence '{}' is behind the highest issued number (last_number={} highest={}): run "
          "`teamreg sequence sync`",
          sequence_name, state.last_number, state.highest_issued));
    }
  } catch (const TransientError&) {
    throw;
  } catch (const std::exception&) {
    problems.push_back(fmt::format(
        "sequence row '{}' is missing from id_sequences: run `teamreg migrate`", sequence_name));
  }
  const std::vector<std::string> present = store.unique_keys();
  for (const std::string& key : required_unique_keys()) {
    if (std::find(present.begin(), present.end(), key) == present.end()) {
      problems.push_back(fmt::format(
          "unique constraint {} is missing: duplicates would not be caught; restore it from the "
          "migrations before serving",
          key));
    }
  }
  return problems;
}

}  // namespace teamreg::storage
