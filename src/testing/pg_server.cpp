#include "testing/pg_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "storage/postgres/pg_connection.hpp"

extern char** environ;

namespace teamreg::testing {
namespace {

constexpr std::string_view kPgBin = "/usr/lib/postgresql/15/bin";
constexpr std::string_view kRunuser = "/usr/sbin/runuser";

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string tail(const std::filesystem::path& path, std::size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "  " + all[i] + "\n";
  }
  return out;
}

/// Spawns argv (no shell) with stdout/stderr appended to `log`, stdin from /dev/null.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
            const std::filesystem::path& cwd, int stdin_fd = -1, bool own_group = false) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  if (own_group) {
    // Out of the test's process group: a Ctrl-C or a group kill must not take the watchdog along.
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot spawn {} (errno {})", argv[0], rc));
  return pid;
}

/// Prefixes `runuser -u postgres --` when running as root (initdb and postgres refuse root).
std::vector<std::string> as_postgres(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> wrapped{std::string(kRunuser), "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string bin(std::string_view name) {
  return fmt::format("{}/{}", kPgBin, name);
}

}  // namespace

PgServer::PgServer() {
  std::string pattern = (std::filesystem::temp_directory_path() / "teamreg-pgtest-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  data_ = root_ / "data";
  sockets_ = root_ / "sock";
  server_log_ = root_ / "server.log";
  commands_log_ = root_ / "commands.log";
  try {
    std::filesystem::create_directories(sockets_);
    if (::geteuid() == 0) {
      const passwd* user = ::getpwnam("postgres");
      if (user == nullptr) throw std::runtime_error("no `postgres` user to run the server as");
      for (const auto& path : {root_, sockets_}) {
        if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
          throw std::runtime_error("cannot chown the temp dir to postgres");
        }
      }
    }
    run(as_postgres({bin("initdb"), "-D", data_.string(), "-U", "postgres", "--auth=trust", "-E",
                     "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"}),
        120);
    start_watchdog();
    std::string last_error;
    for (int attempt = 0; attempt < 3 && !running_; ++attempt) {
      port_ = free_port();  // can be taken between probing and binding: try another
      try {
        start();
      } catch (const std::exception& e) {
        last_error = e.what();
      }
    }
    if (!running_) throw std::runtime_error("PostgreSQL did not start: " + last_error);
  } catch (...) {
    stop();
    throw;
  }
}

PgServer::~PgServer() {
  stop();
}

PgServer& PgServer::shared() {
  static std::mutex mutex;
  static std::unique_ptr<PgServer> server;
  static std::string error;
  const std::lock_guard lock(mutex);
  if (server) return *server;
  if (!error.empty()) throw std::runtime_error(error);
  try {
    server = std::make_unique<PgServer>();
  } catch (const std::exception& e) {
    error = e.what();
    throw;
  }
  return *server;
}

std::string PgServer::dsn(std::string_view database) const {
  return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port_, database);
}

std::string PgServer::create_database() {
  const std::string name = fmt::format("teamreg_test_{}", ++databases_);
  storage::postgres::Connection admin(dsn());
  // An identifier, not a value: it cannot be a bound parameter; it is built from a counter.
  admin.exec("create database", fmt::format("CREATE DATABASE {}", name));
  return dsn(name);
}

void PgServer::restart_fast() {
  run(as_postgres({bin("pg_ctl"), "-D", data_.string(), "-l", server_log_.string(), "-w", "-t",
                   "60", "-m", "fast", "restart"}),
      90);
}

std::string PgServer::failure(const std::string& what) const {
  return fmt::format("{}\ncommands:\n{}server log:\n{}", what, tail(commands_log_, 10),
                     tail(server_log_, 15));
}

void PgServer::run(const std::vector<std::string>& argv, int timeout_seconds) {
  {
    std::ofstream log(commands_log_, std::ios::app);
    log << "$";
    for (const auto& a : argv) log << " " << a;
    log << "\n";
  }
  const pid_t pid = spawn(argv, commands_log_, root_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) throw std::runtime_error(failure(argv[0] + " could not be waited for"));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw std::runtime_error(failure(fmt::format("{} timed out", argv.back())));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ostringstream command;
    for (const auto& a : argv) command << a << ' ';
    throw std::runtime_error(
        failure(fmt::format("`{}` failed (status {})", command.str(), status)));
  }
}

void PgServer::start() {
  const std::string options = fmt::format(
      "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200 -c shared_buffers=32MB "
      "-c fsync=off -c full_page_writes=off",
      port_, sockets_.string());
  run(as_postgres({bin("pg_ctl"), "-D", data_.string(), "-l", server_log_.string(), "-w", "-t",
                   "60", "-o", options, "start"}),
      90);
  running_ = true;
}

void PgServer::start_watchdog() {
  // The pipe's write end lives only in this process (close-on-exec keeps it out of every child).
  // When this process ends in any way, the watchdog reads EOF and stops the server.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const std::string script =
      fmt::format("read _ignored; {} -D '{}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{}'",
                  fmt::join(as_postgres({bin("pg_ctl")}), " "), data_.string(), root_.string());
  try {
    watchdog_pid_ = spawn({"/bin/sh", "-c", script}, "/dev/null", "/", fds[0], true);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[0]);
  watchdog_fd_ = fds[1];
}

void PgServer::stop() noexcept {
  if (running_) {
    running_ = false;
    try {
      run(as_postgres(
              {bin("pg_ctl"), "-D", data_.string(), "-w", "-t", "60", "-m", "fast", "stop"}),
          90);
    } catch (const std::exception&) {
      try {
        run(as_postgres({bin("pg_ctl"), "-D", data_.string(), "-m", "immediate", "stop"}), 30);
      } catch (const std::exception&) {
        // The watchdog below gets one more try; nothing else to do from a destructor.
      }
    }
  }
  if (watchdog_pid_ > 0) {
    ::kill(watchdog_pid_, SIGKILL);
    ::waitpid(watchdog_pid_, nullptr, 0);
    watchdog_pid_ = -1;
  }
  if (watchdog_fd_ >= 0) {
    ::close(watchdog_fd_);
    watchdog_fd_ = -1;
  }
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

}  // namespace teamreg::testing
