#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace teamreg::testing {

/// One message the capture server accepted: the bytes as received, the SMTP envelope, and the
/// message as Python's `email` package decoded it (an independent MIME implementation).
struct CapturedMail {
  std::string raw;
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  bool authenticated = false;
  std::string subject;  ///< RFC 2047 decoded
  std::string from, to, cc, message_id, date, content_type;
  std::string text, html;  ///< decoded parts, line endings "\n"
  std::vector<std::string> defects;
};

/// A real SMTP server (tests/smtp/capture_server.py on Debian's python3-aiosmtpd) on a free
/// loopback port, writing what it accepts into a temp dir. The constructor throws when the
/// server does not come up within 15 s, so SMTP tests fail, never skip. The server exits when
/// this object is destroyed, and by itself if the test process dies (it watches its stdin).
class SmtpCapture final {
 public:
  enum class Mode { kAccept, kReject550, kTempfail451 };

  /// `auth` ("USER:PASSWORD"): the server then requires that login (AUTH without TLS).
  explicit SmtpCapture(Mode mode = Mode::kAccept, const std::string& auth = {});
  SmtpCapture(const SmtpCapture&) = delete;
  SmtpCapture& operator=(const SmtpCapture&) = delete;
  ~SmtpCapture();

  std::uint16_t port() const { return port_; }
  std::string url() const;

  /// Stops the server and waits (bounded) until it has exited: its port then refuses.
  void stop();
  /// Starts the server again on the same port (after stop()); messages so far are kept.
  void restart();

  /// The messages accepted so far, in order.
  std::vector<CapturedMail> messages() const;
  /// Waits until at least `count` messages have arrived; throws after `timeout`.
  std::vector<CapturedMail> wait_for(std::size_t count, std::chrono::seconds timeout) const;

 private:
  void start();
  std::string failure(const std::string& what) const;

  std::filesystem::path root_;
  std::filesystem::path mail_dir_;
  std::filesystem::path log_;
  Mode mode_;
  std::string auth_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace teamreg::testing
