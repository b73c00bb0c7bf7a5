#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "admin/auth.hpp"
#include "files/staging.hpp"
#include "http/server.hpp"
#include "ids/team_id.hpp"
#include "registration/service.hpp"

namespace teamreg::app {

/// Everything `teamreg serve` is told, from flags or TEAMREG_* variables; each part gets its slice.
struct AppConfig {
  std::string database;  ///< SQLite path or postgresql:// URL; empty = <data_dir>/teamreg.db
  std::string data_dir = "./data";
  std::string listen = "127.0.0.1:8000";
  http::ServerConfig server;
  ids::SequenceFormat id_format;
  RegistrationConfig registration;
  admin::AuthConfig admin_auth;  ///< env_token only from TEAMREG_ADMIN_TOKEN, never a flag
  std::uint64_t max_staged_bytes = 2ULL << 30;
  int rate_limit_per_minute = 30;
  std::string trusted_proxies;  ///< comma-separated CIDRs; parsed into server.trusted_proxies
  std::chrono::seconds staging_ttl{3600};
  std::chrono::seconds sweep_interval{60};
  std::size_t worker_threads = 16;
  std::string log_level = "info";

  std::string database_location() const;
  bool uses_postgres() const;
};

/// Checks the configuration as a whole (ranges, consistency) and fills derived fields
/// (server host/port from `listen`). Returns an error message, or empty when valid.
std::string finalize(AppConfig& config);

}  // namespace teamreg::app
