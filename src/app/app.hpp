#pragma once

#include "app/config.hpp"

namespace teamreg::app {

/// `teamreg serve`: runs until SIGTERM/SIGINT; returns the process exit code.
int serve(AppConfig config);
/// `teamreg migrate`: applies migrations and exits.
int migrate(AppConfig config);

}  // namespace teamreg::app
