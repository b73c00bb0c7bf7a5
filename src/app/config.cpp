#include "app/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <fstream>

#include "http/client_address.hpp"

namespace teamreg::app {
namespace {

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

std::string finalize_mail(MailSettings& mail) {
  if (!mail.enabled()) return {};
  if (mail.from.empty()) return "--mail-from (TEAMREG_MAIL_FROM) is required with --smtp-url";
  const auto from = notify::parse_mailbox(mail.from);
  if (!from) {
    return "--mail-from must be an address like noreply@example.org or "
           "\"Name <noreply@example.org>\"";
  }
  mail.worker.from = *from;
  if (!mail.reply_to.empty()) {
    const auto reply_to = notify::parse_mailbox(mail.reply_to);
    if (!reply_to) return "--mail-reply-to must be an address like help@example.org";
    mail.worker.reply_to = *reply_to;
  }
  if (mail.starttls != "try" && mail.starttls != "required") {
    return "--smtp-starttls must be try or required";
  }
  if (!(mail.timeout_seconds >= 1 && mail.timeout_seconds <= 3600)) {
    return "--smtp-timeout must be from 1 to 3600 seconds";
  }
  if (mail.max_attempts < 1 || mail.max_attempts > 100) {
    return "--mail-max-attempts must be from 1 to 100";
  }
  if (!(mail.retry_base_seconds >= 0.01 && mail.retry_base_seconds <= 86400)) {
    return "--mail-retry-base must be from 0.01 to 86400 seconds";
  }
  if (!(mail.poll_interval_seconds >= 0.01 && mail.poll_interval_seconds <= 3600)) {
    return "--mail-poll-interval must be from 0.01 to 3600 seconds";
  }
  if (!mail.password_file.empty()) {
    std::ifstream in(mail.password_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return fmt::format("--smtp-password-file {} cannot be read", mail.password_file);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return fmt::format("--smtp-password-file {} is empty", mail.password_file);
    mail.password = std::move(line);
  }
  if (!mail.password.empty() && mail.user.empty()) {
    return "an SMTP password is set (TEAMREG_SMTP_PASSWORD or --smtp-password-file) but no "
           "--smtp-user";
  }
  if (!mail.user.empty() && mail.password.empty()) {
    return "--smtp-user needs a password from TEAMREG_SMTP_PASSWORD or --smtp-password-file";
  }
  auto& smtp = mail.smtp;
  smtp.url = mail.smtp_url;
  smtp.starttls =
      mail.starttls == "required" ? notify::StartTls::kRequired : notify::StartTls::kOpportunistic;
  smtp.user = mail.user;
  smtp.password = mail.password;
  smtp.transfer_timeout = seconds_to_ms(mail.timeout_seconds);
  smtp.connect_timeout = std::min(smtp.transfer_timeout, std::chrono::milliseconds(10'000));
  if (const auto problem = notify::smtp_config_error(smtp)) {
    return fmt::format("--smtp-url: {}", *problem);
  }
  mail.worker.max_attempts = mail.max_attempts;
  mail.worker.retry_base = seconds_to_ms(mail.retry_base_seconds);
  mail.worker.poll_interval = seconds_to_ms(mail.poll_interval_seconds);
  // Longer than any one send may take, so only a worker that died gives its row up.
  mail.worker.lease = smtp.transfer_timeout + std::chrono::seconds(10);
  return {};
}

std::string finalize_blobs(BlobSettings& blobs, std::size_t worker_threads) {
  if (!blobs.remote()) {
    if (!blobs.s3_endpoint.empty() || blobs.s3_path_style) {
      return "--s3-endpoint and --s3-path-style need --blob-store s3://BUCKET[/PREFIX]";
    }
    return {};
  }
  auto location = files::parse_s3_location(blobs.store);
  if (!location) return fmt::format("--blob-store: {}", location.error());
  auto& s3 = blobs.s3;
  s3.bucket = location->first;
  s3.prefix = location->second;
  s3.endpoint = blobs.s3_endpoint;
  s3.region = blobs.s3_region;
  s3.path_style = blobs.s3_path_style;
  s3.access_key_id = blobs.access_key_id;
  s3.secret_access_key = blobs.secret_access_key;
  s3.session_token = blobs.session_token;
  // Every worker may be storing or reading a document at once; a few more for the sweeper and
  // /ready.
  s3.max_connections = worker_threads + 4;
  if (auto problem = files::s3_config_error(s3)) return *problem;
  return {};
}

}  // namespace

std::string AppConfig::database_location() const {
  return database.empty() ? data_dir + "/teamreg.db" : database;
}

bool AppConfig::uses_postgres() const {
  const std::string location = database_location();
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string finalize(AppConfig& config) {
  const auto colon = config.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return fmt::format("--listen must be HOST:PORT, got '{}'", config.listen);
  }
  std::string host = config.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = config.listen.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return fmt::format("--listen port must be 0-65535, got '{}'", port_text);
  }
  boost::system::error_code address_error;
  boost::asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, address_error);
  if (address_error) return fmt::format("--listen host must be an IP address, got '{}'", host);
  config.server.host = host == "localhost" ? "127.0.0.1" : host;
  config.server.port = static_cast<std::uint16_t>(port);

  const auto& prefix = config.id_format.prefix;
  if (prefix.empty() || prefix.size() > 16 ||
      !std::all_of(prefix.begin(), prefix.end(),
                   [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); })) {
    return "--id-prefix must be 1-16 characters A-Z or 0-9";
  }
  if (!(config.database_timeout_seconds >= 0.1 && config.database_timeout_seconds <= 600)) {
    return "--database-timeout must be from 0.1 to 600 seconds";
  }
  config.database_timeout = seconds_to_ms(config.database_timeout_seconds);
  if (config.id_format.min_width < 1 || config.id_format.min_width > 12) {
    return "--id-width must be from 1 to 12";
  }
  auto& rules = config.registration.rules;
  if (rules.min_players < 1 || rules.max_players > 99 || rules.min_players > rules.max_players) {
    return fmt::format(
        "players must satisfy 1 <= --min-players <= --max-players <= 99 (got {} and {})",
        rules.min_players, rules.max_players);
  }
  if (config.registration.teams_per_church < 1) return "--teams-per-church must be at least 1";
  if (config.registration.form.max_file_bytes < 1) return "--max-file-bytes must be positive";
  if (config.rate_limit_per_minute < 0) return "--rate-limit must be 0 (off) or positive";
  if (config.sweep_interval.count() < 1) return "--sweep-interval must be at least 1 second";
  if (config.staging_ttl.count() < 0) return "--staging-ttl must not be negative";
  if (config.accounts.idle_timeout.count() < 1 ||
      config.accounts.idle_timeout > std::chrono::days(30)) {
    return "--session-idle-timeout must be from 1 second to 30 days (2592000)";
  }
  if (config.server.cors_origins.empty()) config.server.cors_origins = {"*"};
  auto trusted = http::TrustedProxies::parse(config.trusted_proxies);
  if (!trusted) return fmt::format("--trusted-proxies: {}", trusted.error());
  config.server.trusted_proxies = std::move(*trusted);
  // The whole body may carry every document at full size plus the text fields.
  const auto documents = static_cast<std::uint64_t>(3 + 2 * rules.max_players);
  config.server.max_upload_bytes =
      documents * config.registration.form.max_file_bytes + (1ULL << 20);
  config.registration.multipart.max_parts = static_cast<std::size_t>(16 + 4 * rules.max_players);
  if (auto problem = finalize_blobs(config.blobs, config.worker_threads); !problem.empty()) {
    return problem;
  }
  return finalize_mail(config.mail);
}

}  // namespace teamreg::app
