#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>

#include "notify/mail.hpp"

namespace teamreg::notify {

/// How a send ended. The outbox worker retries both failures with back-off until its attempts
/// run out, except a kPermanent without an SMTP code (the message cannot be composed): that one
/// can never succeed and is given up at once.
enum class SendStatus {
  kSent,
  kTransient,  ///< try again later: no connection, timeout, 4xx, TLS or login trouble
  kPermanent,  ///< the server refused this message (5xx), or the message cannot be composed
};

struct SendResult {
  SendStatus status = SendStatus::kSent;
  /// Safe to log and to show in /admin/outbox: never the password, never message content.
  std::string error;
  int smtp_code = 0;  ///< last SMTP reply code seen, 0 if none

  bool ok() const { return status == SendStatus::kSent; }
};

/// Sends one message, synchronously. Implementations are called from the delivery worker only.
class MailSender {
 public:
  virtual ~MailSender() = default;
  virtual SendResult send(const MailMessage& message) = 0;
};

enum class StartTls {
  kOpportunistic,  ///< smtp://: upgrade when the server offers STARTTLS, else go on in clear
  kRequired,       ///< smtp://: fail (transiently) unless the connection can be upgraded
};

struct SmtpConfig {
  /// `smtp://host[:port][/ehlo-name]` or `smtps://host[:port][/ehlo-name]` (implicit TLS). The
  /// optional path is the name sent in EHLO (libcurl sends the local host name without it).
  /// No user, password, query or fragment in the URL.
  std::string url;
  StartTls starttls = StartTls::kOpportunistic;
  std::string user;      ///< empty: no AUTH
  std::string password;  ///< from the environment or a file, never from a flag; never logged
  std::chrono::milliseconds connect_timeout{10'000};
  /// The whole conversation, connecting included.
  std::chrono::milliseconds transfer_timeout{60'000};
};

/// The URL checks of CurlSmtpSender::create, for configuration loading: an operator-facing error
/// or nothing.
std::optional<std::string> smtp_config_error(const SmtpConfig& config);

/// Delivers through libcurl, one connection per message (the outbox sends few mails; no pool
/// to go stale). The envelope sender is the From address, the recipients To and every Cc, all
/// or nothing: a refused recipient fails the message (libcurl's default; a relay rarely refuses
/// one recipient of several, and a partial delivery could not be recorded per recipient).
///
/// Classification: a 5xx reply → kPermanent, except 5xx to AUTH (a wrong password is the
/// operator's to fix; the backlog must survive until then), which is kTransient like every 4xx,
/// connection, timeout and TLS failure. Thread-safe: each call uses its own libcurl handle.
class CurlSmtpSender final : public MailSender {
 public:
  /// Checks the configuration (smtp_config_error) and initialises libcurl once per process.
  static tl::expected<std::unique_ptr<CurlSmtpSender>, std::string> create(SmtpConfig config);

  SendResult send(const MailMessage& message) override;

  /// Connects, says EHLO, upgrades to TLS and logs in as configured, sends NOOP and QUITs: tells
  /// `teamreg check` whether mail could be handed over, without sending any.
  SendResult probe();

 private:
  explicit CurlSmtpSender(SmtpConfig config) : config_(std::move(config)) {}
  SmtpConfig config_;
};

}  // namespace teamreg::notify
