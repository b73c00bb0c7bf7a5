#pragma once

#include <iosfwd>
#include <string>

#include "admin/accounts.hpp"
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
    kSequenceSync,
    kUserCreate,
    kUserList,
    kUserDisable,
    kUserSetPassword
  };
  Kind kind = Kind::kSequenceShow;
  std::string name;                            ///< token or user name
  std::string new_number;                      ///< for sequence reset, as typed
  std::string role = std::string(kRoleAdmin);  ///< for user create
  /// Ask for the password on the terminal (stdin is one, its echo turned off by the caller).
  bool prompt = false;

  bool is_user_command() const { return kind >= Kind::kUserCreate; }
};

/// Runs a command through the same AdminService the HTTP routes use, audited with actor "cli".
/// Results go to `out` (a new token alone on its line, so scripts can capture it; sequence
/// commands print the JSON the HTTP route answers), problems to `err`. Returns the exit code:
/// 0 done, 1 refused (validation, conflict, not found).
int run_command(AdminService& service, const Command& command, std::ostream& out,
                std::ostream& err);

/// Runs a `teamreg admin user …` command through the AccountService the HTTP routes use,
/// audited with actor "cli". A password is read as one line from `in` (the trailing newline
/// stripped), never echoed or logged. Same output and exit code conventions as run_command.
int run_user_command(AccountService& accounts, const Command& command, std::istream& in,
                     std::ostream& out, std::ostream& err);

}  // namespace teamreg::admin
