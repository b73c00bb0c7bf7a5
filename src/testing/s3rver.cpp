#include "testing/s3rver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "core/uuid.hpp"

namespace teamreg::testing {
namespace {

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

S3rver::S3rver(std::string bucket) : bucket_(std::move(bucket)) {
  if (::access(TEAMREG_S3RVER_SCRIPT, R_OK) != 0) {
    throw std::runtime_error(std::string("s3rver is not installed at ") + TEAMREG_S3RVER_SCRIPT +
                             ": run scripts/install-s3-deps.sh");
  }
  root_ = std::filesystem::temp_directory_path() / ("teamreg-s3rver-" + random_uuid());
  std::filesystem::create_directories(root_ / "data");
  port_ = free_port();
  const std::string data = (root_ / "data").string();
  const std::string log = (root_ / "s3rver.log").string();
  const std::string port = std::to_string(port_);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    ::execlp("node", "node", TEAMREG_S3RVER_SCRIPT, "-d", data.c_str(), "-a", "127.0.0.1", "-p",
             port.c_str(), "--no-vhost-buckets", "--configure-bucket", bucket_.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!accepts(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("s3rver exited at start; see " + log);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      throw std::runtime_error("s3rver not listening within 30 s; see " + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

S3rver::~S3rver() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::string S3rver::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

}  // namespace teamreg::testing
