#pragma once

#include <iosfwd>
#include <string>

#include "admin/service.hpp"

namespace teamreg::admin {

/// One admin command of the teamreg CLI (`admin token …`, `sequence …`).
struct Command {
  enum class Kind {
    kTokenCreate,
    kTokenList,
    kTokenRevoke,
    kSequenceShow,
    kSequenceReset,
    kSequenceSync
  };
  Kind kind = Kind::kSequenceShow;
  std::string name;        ///< token name for token create/revoke
  std::string new_number;  ///< for sequence reset, as typed
};

/// Runs a command through the same AdminService the HTTP routes use, audited with actor "cli".
/// Results go to `out` (a new token alone on its line, so scripts can capture it; sequence
/// commands print the JSON the HTTP route answers), problems to `err`. Returns the exit code:
/// 0 done, 1 refused (validation, conflict, not found).
int run_command(AdminService& service, const Command& command, std::ostream& out,
                std::ostream& err);

}  // namespace teamreg::admin
