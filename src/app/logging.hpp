#pragma once

#include <string>

namespace teamreg::app {

/// Logs to stderr at `level`: "TIMESTAMP LEVEL event key=value"; under systemd (JOURNAL_STREAM
/// set) "<PRIORITY>LEVEL event key=value", so the journal keeps the priority and its own time.
void setup_logging(const std::string& level);

}  // namespace teamreg::app
