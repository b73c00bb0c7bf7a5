#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace teamreg::testing {

/// A throw-away PostgreSQL 15 cluster in a temp dir: initdb, then pg_ctl on 127.0.0.1 and a free
/// port, trust auth, run as the `postgres` user when the tests run as root. Stopped and deleted by
/// the destructor; a watchdog process stops it too if the test process dies first. The
/// constructor throws when the server cannot start, so PostgreSQL tests fail, never skip.
class PgServer final {
 public:
  PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  ~PgServer();

  /// The server of this test process, started on first use. Call it first from the main thread
  /// (the watchdog belongs to the process, the server to no thread, but keep it simple).
  /// A failed start is remembered and rethrown, not retried by every test.
  static PgServer& shared();

  std::uint16_t port() const { return port_; }
  std::string dsn(std::string_view database = "postgres") const;
  /// Creates a fresh, empty database and returns its DSN.
  std::string create_database();
  /// `pg_ctl restart -m fast`: every connection is dropped; returns when the server accepts
  /// connections again.
  void restart_fast();

 private:
  void run(const std::vector<std::string>& argv, int timeout_seconds);
  void start();
  void stop() noexcept;
  void start_watchdog();
  std::string failure(const std::string& what) const;

  std::filesystem::path root_;
  std::filesystem::path data_;
  std::filesystem::path sockets_;
  std::filesystem::path server_log_;
  std::filesystem::path commands_log_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  pid_t watchdog_pid_ = -1;
  int watchdog_fd_ = -1;
  std::atomic<int> databases_{0};
};

}  // namespace teamreg::testing
