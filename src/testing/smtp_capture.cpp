#include "testing/smtp_capture.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace teamreg::testing {
namespace {

constexpr std::chrono::seconds kStartTimeout{15};
constexpr std::chrono::seconds kStopTimeout{5};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string string_field(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  return std::string(value->get_string());
}

std::vector<std::string> string_list(const boost::json::object& object, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* value = object.if_contains(key); value != nullptr && value->is_array()) {
    for (const auto& item : value->get_array()) out.emplace_back(item.as_string());
  }
  return out;
}

/// Reads one line from `fd` within `deadline`; empty when the pipe closed or time ran out.
std::string read_line(int fd, std::chrono::steady_clock::time_point deadline) {
  std::string line;
  while (line.empty() || line.back() != '\n') {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char c = 0;
    if (::read(fd, &c, 1) != 1) return {};
    line += c;
  }
  return line;
}

}  // namespace

SmtpCapture::SmtpCapture(Mode mode, const std::string& auth) : mode_(mode), auth_(auth) {
  std::string pattern = (std::filesystem::temp_directory_path() / "teamreg-smtp-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  mail_dir_ = root_ / "mail";
  log_ = root_ / "server.log";
  try {
    start();
  } catch (...) {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
    throw;
  }
}

void SmtpCapture::start() {
  std::filesystem::create_directories(mail_dir_);
  std::vector<std::string> argv{
      TEAMREG_SMTP_PYTHON,  TEAMREG_SMTP_CAPTURE_SCRIPT, "--dir", mail_dir_.string(), "--port",
      std::to_string(port_)};
  if (mode_ == Mode::kReject550) argv.emplace_back("--reject");
  if (mode_ == Mode::kTempfail451) argv.emplace_back("--tempfail");
  if (!auth_.empty()) {
    argv.emplace_back("--auth");
    argv.push_back(auth_);
  }

  // stdin: a pipe only this process writes to, so the server sees EOF when this process ends.
  // stdout: a pipe for the one "listening on PORT" line. stderr: a log for failure messages.
  std::array<int, 2> in{};
  std::array<int, 2> out{};
  if (::pipe2(in.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (::pipe2(out.data(), O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  stdin_fd_ = in[1];
  if (rc != 0) {
    pid_ = -1;
    ::close(out[0]);
    throw std::runtime_error(fmt::format("cannot start {} (errno {})", argv[0], rc));
  }
  const std::string line = read_line(out[0], std::chrono::steady_clock::now() + kStartTimeout);
  ::close(out[0]);
  constexpr std::string_view kPrefix = "listening on ";
  std::uint16_t port = 0;
  if (line.starts_with(kPrefix)) {
    port = static_cast<std::uint16_t>(std::stoi(line.substr(kPrefix.size())));
  }
  if (port == 0 || (port_ != 0 && port != port_)) {
    throw std::runtime_error(failure(
        fmt::format("the SMTP capture server did not start (waited up to {} s; is python3-aiosmtpd "
                    "installed for {}? scripts/install-deps.sh installs it)",
                    kStartTimeout.count(), TEAMREG_SMTP_PYTHON)));
  }
  port_ = port;
}

void SmtpCapture::restart() {
  stop();
  start();
}

SmtpCapture::~SmtpCapture() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::string SmtpCapture::url() const {
  return fmt::format("smtp://127.0.0.1:{}", port_);
}

void SmtpCapture::stop() {
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (pid_ <= 0) return;
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);  // only the process this object started
      ::waitpid(pid_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

std::vector<CapturedMail> SmtpCapture::messages() const {
  std::vector<std::filesystem::path> summaries;
  for (const auto& entry : std::filesystem::directory_iterator(mail_dir_)) {
    if (entry.path().extension() == ".json") summaries.push_back(entry.path());
  }
  std::sort(summaries.begin(), summaries.end());
  std::vector<CapturedMail> mails;
  for (const auto& path : summaries) {
    const boost::json::object summary = boost::json::parse(read_file(path)).as_object();
    CapturedMail mail;
    mail.raw = read_file(std::filesystem::path(path).replace_extension(".eml"));
    mail.mail_from = string_field(summary, "mail_from");
    mail.rcpt_tos = string_list(summary, "rcpt_tos");
    mail.authenticated = summary.at("authenticated").as_bool();
    mail.subject = string_field(summary, "subject");
    mail.from = string_field(summary, "from");
    mail.to = string_field(summary, "to");
    mail.cc = string_field(summary, "cc");
    mail.message_id = string_field(summary, "message_id");
    mail.date = string_field(summary, "date");
    mail.content_type = string_field(summary, "content_type");
    mail.text = string_field(summary, "text");
    mail.html = string_field(summary, "html");
    mail.defects = string_list(summary, "defects");
    mails.push_back(std::move(mail));
  }
  return mails;
}

std::vector<CapturedMail> SmtpCapture::wait_for(std::size_t count,
                                                std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto mails = messages();
    if (mails.size() >= count) return mails;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(failure(fmt::format("{} message(s) expected within {} s, {} arrived",
                                                   count, timeout.count(), mails.size())));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string SmtpCapture::failure(const std::string& what) const {
  return fmt::format("{}\ncapture server log:\n{}", what, read_file(log_));
}

}  // namespace teamreg::testing
