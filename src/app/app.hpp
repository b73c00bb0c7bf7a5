#pragma once

#include <string>

#include "admin/cli.hpp"
#include "app/config.hpp"

namespace teamreg::app {

/// `teamreg serve`: runs until SIGTERM/SIGINT; returns the process exit code.
int serve(AppConfig config);
/// `teamreg migrate`: applies migrations and exits.
int migrate(AppConfig config);
/// `teamreg check`: startup sync plus schema/sequence/constraint/storage validation; prints one
/// line per problem and returns non-zero if there is any. Applies no migration.
int check(AppConfig config);
/// `teamreg admin token|user …` and `teamreg sequence …`: migrates, runs one admin command,
/// exits. A password for `admin user` is read from stdin (asked without echo on a terminal).
int admin_command(AppConfig config, const admin::Command& command);
/// `teamreg backup --to DIR`: a consistent snapshot while the server runs (docs/operations.md).
int backup(AppConfig config, const std::string& to);
/// `teamreg restore --from DIR`: into an empty data directory, after verifying every checksum.
int restore(AppConfig config, const std::string& from);

}  // namespace teamreg::app
