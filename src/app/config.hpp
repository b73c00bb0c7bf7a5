#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "admin/accounts.hpp"
#include "admin/auth.hpp"
#include "files/s3/s3_client.hpp"
#include "files/staging.hpp"
#include "http/server.hpp"
#include "ids/team_id.hpp"
#include "notify/outbox_worker.hpp"
#include "notify/smtp_sender.hpp"
#include "registration/service.hpp"

namespace teamreg::app {

/// E-mail notifications (docs/email.md): as given by flags and TEAMREG_* variables, then the
/// sender's and the worker's configuration derived from them by finalize().
struct MailSettings {
  std::string smtp_url;  ///< empty: no mail is queued or sent
  std::string starttls = "try";
  std::string user;
  std::string password_file;
  std::string password;  ///< TEAMREG_SMTP_PASSWORD or the file's first line; never printed
  std::string from;
  std::string reply_to;
  std::string templates_dir;  ///< empty: the built-in templates
  double timeout_seconds = 60;
  int max_attempts = 10;
  double retry_base_seconds = 180;
  double poll_interval_seconds = 5;

  notify::SmtpConfig smtp;            ///< derived
  notify::OutboxWorkerConfig worker;  ///< derived

  bool enabled() const { return !smtp_url.empty(); }
};

/// Where documents live (docs/operations.md): as given by flags, TEAMREG_* and AWS_* variables,
/// then the S3 client's configuration derived from them by finalize().
struct BlobSettings {
  std::string store = "local";  ///< "local" (<data-dir>/documents) or s3://BUCKET[/PREFIX]
  std::string s3_endpoint;      ///< empty: AWS for the region
  std::string s3_region = "us-east-1";
  bool s3_path_style = false;
  std::string access_key_id;      ///< AWS_ACCESS_KEY_ID; never printed
  std::string secret_access_key;  ///< AWS_SECRET_ACCESS_KEY; never printed
  std::string session_token;      ///< AWS_SESSION_TOKEN; never printed

  files::S3Config s3;  ///< derived

  bool remote() const { return store != "local"; }
};

/// Everything `teamreg serve` is told, from flags or TEAMREG_* variables; each part gets its slice.
struct AppConfig {
  std::string database;  ///< SQLite path or postgresql:// URL; empty = <data_dir>/teamreg.db
  /// PostgreSQL: longest wait for one statement's answer or a new connection; a registration's
  /// commit gives up retrying after twice this (committer deadline). Seconds, as given.
  double database_timeout_seconds = 10;
  std::chrono::milliseconds database_timeout{10000};  ///< derived
  std::string data_dir = "./data";
  std::string listen = "127.0.0.1:8000";
  http::ServerConfig server;
  ids::SequenceFormat id_format;
  RegistrationConfig registration;
  admin::AuthConfig admin_auth;  ///< env_token only from TEAMREG_ADMIN_TOKEN, never a flag
  admin::AccountConfig accounts;
  std::uint64_t max_staged_bytes = 2ULL << 30;
  int rate_limit_per_minute = 30;
  std::string trusted_proxies;  ///< comma-separated CIDRs; parsed into server.trusted_proxies
  std::chrono::seconds staging_ttl{3600};
  std::chrono::seconds sweep_interval{60};
  std::size_t worker_threads = 16;
  std::string log_level = "info";
  MailSettings mail;
  BlobSettings blobs;

  std::string database_location() const;
  bool uses_postgres() const;
};

/// Checks the configuration as a whole (ranges, consistency) and fills derived fields
/// (server host/port from `listen`). Returns an error message, or empty when valid.
std::string finalize(AppConfig& config);

}  // namespace teamreg::app
