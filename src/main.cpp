#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <utility>
#include <vector>

#include "app/app.hpp"
#include "app/config.hpp"
#include "app/config_file.hpp"

namespace {

/// Flags shared by every subcommand that opens the database.
void add_common_options(CLI::App& command, teamreg::app::AppConfig& config) {
  command
      .add_option("--database", config.database,
                  "SQLite file path or postgresql:// URL (default: <data-dir>/teamreg.db)")
      ->envname("TEAMREG_DATABASE");
  command
      .add_option("--database-timeout", config.database_timeout_seconds,
                  "PostgreSQL: seconds one statement or a new connection may take before the "
                  "request fails with 503 (a stalled network or server)")
      ->envname("TEAMREG_DATABASE_TIMEOUT")
      ->capture_default_str();
  command.add_option("--data-dir", config.data_dir, "Directory for the database and documents")
      ->envname("TEAMREG_DATA_DIR")
      ->capture_default_str();
  command.add_option("--id-prefix", config.id_format.prefix, "Team ID prefix")
      ->envname("TEAMREG_ID_PREFIX")
      ->capture_default_str();
  command.add_option("--id-width", config.id_format.min_width, "Minimum digits of a team number")
      ->envname("TEAMREG_ID_WIDTH")
      ->capture_default_str();
  command
      .add_option("--config", "TOML file with flag values (docs/operations.md#configuration-file)")
      ->envname("TEAMREG_CONFIG");
  command.add_option("--log-level", config.log_level, "trace, debug, info, warn, error")
      ->envname("TEAMREG_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
}

/// Where documents live (docs/operations.md), for `serve` and for `check`, which probes the store.
/// Credentials only from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
void add_blob_options(CLI::App& command, teamreg::app::BlobSettings& blobs) {
  command
      .add_option("--blob-store", blobs.store,
                  "local (<data-dir>/documents) or s3://BUCKET[/PREFIX] (credentials from "
                  "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)")
      ->envname("TEAMREG_BLOB_STORE")
      ->capture_default_str();
  command
      .add_option(
          "--s3-endpoint", blobs.s3_endpoint,
          "S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default: AWS for the region)")
      ->envname("TEAMREG_S3_ENDPOINT");
  command.add_option("--s3-region", blobs.s3_region, "Region the requests are signed for")
      ->envname("TEAMREG_S3_REGION")
      ->capture_default_str();
  command
      .add_flag("--s3-path-style", blobs.s3_path_style,
                "Address the bucket in the path (MinIO and most self-hosted servers), not the "
                "host name")
      ->envname("TEAMREG_S3_PATH_STYLE");
}

/// E-mail flags (docs/email.md), for `serve` and for `check`, which probes the SMTP server.
void add_mail_options(CLI::App& command, teamreg::app::MailSettings& mail) {
  command
      .add_option("--smtp-url", mail.smtp_url,
                  "smtp://HOST:PORT (STARTTLS when offered) or smtps://HOST:PORT; without it no "
                  "mail is queued")
      ->envname("TEAMREG_SMTP_URL");
  command
      .add_option("--smtp-starttls", mail.starttls,
                  "try: STARTTLS when the server offers it; required: never send in clear")
      ->envname("TEAMREG_SMTP_STARTTLS")
      ->check(CLI::IsMember({"try", "required"}))
      ->capture_default_str();
  command.add_option("--smtp-user", mail.user, "SMTP login (password: TEAMREG_SMTP_PASSWORD)")
      ->envname("TEAMREG_SMTP_USER");
  command
      .add_option("--smtp-password-file", mail.password_file,
                  "File whose first line is the SMTP password (or set TEAMREG_SMTP_PASSWORD)")
      ->envname("TEAMREG_SMTP_PASSWORD_FILE");
  command
      .add_option("--smtp-timeout", mail.timeout_seconds,
                  "Seconds one SMTP conversation may take, connecting included")
      ->envname("TEAMREG_SMTP_TIMEOUT")
      ->capture_default_str();
  command
      .add_option("--mail-from", mail.from,
                  "From address, e.g. \"ICCT26 <noreply@example.org>\"; required with --smtp-url")
      ->envname("TEAMREG_MAIL_FROM");
  command.add_option("--mail-reply-to", mail.reply_to, "Reply-To address")
      ->envname("TEAMREG_MAIL_REPLY_TO");
  command
      .add_option("--mail-templates", mail.templates_dir,
                  "Directory of template overrides (received.txt, confirmed.html, ...)")
      ->envname("TEAMREG_MAIL_TEMPLATES");
  command
      .add_option("--mail-max-attempts", mail.max_attempts,
                  "Delivery attempts before a mail is dead")
      ->envname("TEAMREG_MAIL_MAX_ATTEMPTS")
      ->capture_default_str();
  command
      .add_option("--mail-retry-base", mail.retry_base_seconds,
                  "Seconds before the 2nd attempt; each later wait doubles (+-25% jitter)")
      ->envname("TEAMREG_MAIL_RETRY_BASE")
      ->capture_default_str();
  command
      .add_option("--mail-poll-interval", mail.poll_interval_seconds,
                  "Seconds between looks for mail queued by other processes")
      ->envname("TEAMREG_MAIL_POLL_INTERVAL")
      ->capture_default_str();
}

/// What the serve flags set that AppConfig holds in another type, converted after parsing.
struct ServeInputs {
  int upload_wait = 0;
  int staging_ttl = 0;
  int sweep_interval = 0;
  std::chrono::seconds::rep session_idle_timeout = 0;
  std::string cors = "*";
};

/// The flags of `serve`, also those of `config show`, which prints their effective values.
void add_serve_options(CLI::App* serve, teamreg::app::AppConfig& config, ServeInputs& inputs) {
  auto& [upload_wait, staging_ttl, sweep_interval, session_idle_timeout, cors] = inputs;
  add_common_options(*serve, config);
  auto& rules = config.registration.rules;
  serve->add_option("--listen", config.listen, "HOST:PORT to listen on (port 0 = any free port)")
      ->envname("TEAMREG_LISTEN")
      ->capture_default_str();
  serve->add_option("--min-players", rules.min_players, "Fewest players per team")
      ->envname("TEAMREG_MIN_PLAYERS")
      ->capture_default_str();
  serve->add_option("--max-players", rules.max_players, "Most players per team")
      ->envname("TEAMREG_MAX_PLAYERS")
      ->capture_default_str();
  serve
      ->add_option("--teams-per-church", config.registration.teams_per_church,
                   "Most non-rejected teams per church")
      ->envname("TEAMREG_TEAMS_PER_CHURCH")
      ->capture_default_str();
  serve
      ->add_option("--max-file-bytes", config.registration.form.max_file_bytes,
                   "Largest accepted document")
      ->envname("TEAMREG_MAX_FILE_BYTES")
      ->capture_default_str();
  serve
      ->add_flag("--require-payment-receipt", rules.require_payment_receipt,
                 "payment_receipt is required")
      ->envname("TEAMREG_REQUIRE_PAYMENT_RECEIPT");
  serve->add_flag("--require-group-photo", rules.require_group_photo, "group_photo is required")
      ->envname("TEAMREG_REQUIRE_GROUP_PHOTO");
  serve
      ->add_flag("--require-player-documents", rules.require_player_documents,
                 "each player's aadhar and subscription files are required")
      ->envname("TEAMREG_REQUIRE_PLAYER_DOCUMENTS");
  serve
      ->add_option("--rate-limit", config.rate_limit_per_minute,
                   "Registrations per minute per client address (0 = off)")
      ->envname("TEAMREG_RATE_LIMIT")
      ->capture_default_str();
  serve
      ->add_option("--max-concurrent-uploads", config.registration.max_concurrent_uploads,
                   "Uploads in progress at once; more wait for a slot, unread (0 = derived from "
                   "the open-file limit and --max-staged-bytes)")
      ->envname("TEAMREG_MAX_CONCURRENT_UPLOADS")
      ->capture_default_str();
  upload_wait = static_cast<int>(config.server.upload_wait.count());
  serve
      ->add_option("--max-upload-wait", upload_wait,
                   "Seconds an upload may wait for a slot before 503 + Retry-After")
      ->envname("TEAMREG_MAX_UPLOAD_WAIT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  serve
      ->add_option("--min-body-rate", config.server.min_body_rate.min_bytes_per_s,
                   "Bytes per second a request body must average after a 10 s grace, else 408 "
                   "(0 = off)")
      ->envname("TEAMREG_MIN_BODY_RATE")
      ->capture_default_str();
  serve
      ->add_option("--max-staged-bytes", config.max_staged_bytes,
                   "Bytes of uploads held in staging at once; more get 503")
      ->envname("TEAMREG_MAX_STAGED_BYTES")
      ->capture_default_str();
  staging_ttl = static_cast<int>(config.staging_ttl.count());
  serve
      ->add_option("--staging-ttl", staging_ttl,
                   "Seconds after which an unreferenced staged upload is deleted")
      ->envname("TEAMREG_STAGING_TTL")
      ->capture_default_str();
  sweep_interval = static_cast<int>(config.sweep_interval.count());
  serve->add_option("--sweep-interval", sweep_interval, "Seconds between staging sweeps")
      ->envname("TEAMREG_SWEEP_INTERVAL")
      ->capture_default_str();
  serve->add_option("--cors-origins", cors, "Allowed CORS origins, comma-separated, or *")
      ->envname("TEAMREG_CORS_ORIGINS")
      ->capture_default_str();
  serve
      ->add_option("--trusted-proxies", config.trusted_proxies,
                   "Comma-separated CIDRs of reverse proxies whose X-Forwarded-For, Forwarded and "
                   "X-Forwarded-Proto are believed (default: none)")
      ->envname("TEAMREG_TRUSTED_PROXIES");
  serve->add_option("--worker-threads", config.worker_threads, "Threads for blocking work")
      ->envname("TEAMREG_WORKER_THREADS")
      ->capture_default_str();

  serve
      ->add_option("--admin-failure-limit", config.admin_auth.failures_per_minute,
                   "Failed admin authentications per minute per client address before 429 "
                   "(0 = off)")
      ->envname("TEAMREG_ADMIN_FAILURE_LIMIT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  session_idle_timeout = config.accounts.idle_timeout.count();
  serve
      ->add_option("--session-idle-timeout", session_idle_timeout,
                   "Seconds without a request after which a console session ends")
      ->envname("TEAMREG_SESSION_IDLE_TIMEOUT")
      ->capture_default_str();

  add_mail_options(*serve, config.mail);
  add_blob_options(*serve, config.blobs);
}

}  // namespace

int main(int argc, char** argv) {
  teamreg::app::AppConfig config;
  CLI::App cli{"teamreg: tournament team registration with gapless sequential team IDs"};
  cli.require_subcommand(1);

  ServeInputs inputs;
  auto* serve = cli.add_subcommand("serve", "Run the HTTP server");
  add_serve_options(serve, config, inputs);
  auto* config_command = cli.add_subcommand("config", "Inspect the configuration");
  config_command->require_subcommand(1);
  auto* config_show = config_command->add_subcommand(
      "show", "Print the effective serve configuration and where each value came from");
  add_serve_options(config_show, config, inputs);

  auto* migrate = cli.add_subcommand("migrate", "Apply database migrations and exit");
  add_common_options(*migrate, config);
  auto* check = cli.add_subcommand(
      "check",
      "Sync the sequence and validate schema, constraints and storage; non-zero on problems");
  add_common_options(*check, config);
  add_mail_options(*check, config.mail);
  add_blob_options(*check, config.blobs);

  // Admin commands: the same code path as the /admin routes, audited with actor "cli".
  using AdminKind = teamreg::admin::Command::Kind;
  teamreg::admin::Command admin_command;
  std::vector<std::pair<CLI::App*, AdminKind>> admin_commands;
  auto* admin = cli.add_subcommand("admin", "Manage admin API tokens and console users");
  admin->require_subcommand(1);
  auto* token = admin->add_subcommand("token", "Create, list or revoke admin bearer tokens");
  token->require_subcommand(1);
  auto* token_create =
      token->add_subcommand("create", "Create a token and print it (shown only once)");
  token_create->add_option("--name", admin_command.name, "Token name, recorded in the audit log")
      ->required();
  admin_commands.emplace_back(token_create, AdminKind::kTokenCreate);
  admin_commands.emplace_back(token->add_subcommand("list", "List tokens (never their values)"),
                              AdminKind::kTokenList);
  auto* token_revoke = token->add_subcommand("revoke", "Revoke a token at once");
  token_revoke->add_option("--name", admin_command.name, "Token name")->required();
  admin_commands.emplace_back(token_revoke, AdminKind::kTokenRevoke);
  auto* user = admin->add_subcommand("user", "Create, list or disable console users");
  user->require_subcommand(1);
  auto* user_create =
      user->add_subcommand("create", "Create a user; its password is read as one line from stdin");
  user_create->add_option("--name", admin_command.name, "User name, recorded in the audit log")
      ->required();
  user_create->add_option("--role", admin_command.role, "admin (may change) or viewer (reads)")
      ->check(CLI::IsMember({"admin", "viewer"}))
      ->capture_default_str();
  bool password_stdin = false;  // required: the flag says where the password comes from
  user_create->add_flag("--password-stdin", password_stdin, "Read the password from stdin")
      ->required();
  admin_commands.emplace_back(user_create, AdminKind::kUserCreate);
  admin_commands.emplace_back(user->add_subcommand("list", "List users (never their passwords)"),
                              AdminKind::kUserList);
  auto* user_disable =
      user->add_subcommand("disable", "Disable a user and end its sessions at once");
  user_disable->add_option("--name", admin_command.name, "User name")->required();
  admin_commands.emplace_back(user_disable, AdminKind::kUserDisable);
  auto* user_password = user->add_subcommand(
      "set-password", "Set a user's password (one line from stdin) and end its sessions");
  user_password->add_option("--name", admin_command.name, "User name")->required();
  user_password->add_flag("--password-stdin", password_stdin, "Read the password from stdin")
      ->required();
  admin_commands.emplace_back(user_password, AdminKind::kUserSetPassword);
  auto* sequence = cli.add_subcommand("sequence", "Show or change the team ID sequence");
  sequence->require_subcommand(1);
  admin_commands.emplace_back(sequence->add_subcommand("show", "Current number and next team ID"),
                              AdminKind::kSequenceShow);
  auto* sequence_reset = sequence->add_subcommand(
      "reset", "Set the sequence to N (never below the highest issued number); next ID is N+1");
  sequence_reset->add_option("N", admin_command.new_number, "New current number")->required();
  admin_commands.emplace_back(sequence_reset, AdminKind::kSequenceReset);
  admin_commands.emplace_back(
      sequence->add_subcommand("sync", "Raise the sequence to the highest issued number"),
      AdminKind::kSequenceSync);
  for (auto& [command, kind] : admin_commands) add_common_options(*command, config);

  std::string backup_dir;
  auto* backup = cli.add_subcommand("backup", "Write a consistent snapshot while the server runs");
  add_common_options(*backup, config);
  add_blob_options(*backup, config.blobs);
  backup->add_option("--to", backup_dir, "New or empty directory for the backup")->required();
  auto* restore = cli.add_subcommand(
      "restore", "Restore a backup into an empty data directory after verifying its checksums");
  add_common_options(*restore, config);
  add_blob_options(*restore, config.blobs);
  restore->add_option("--from", backup_dir, "Directory written by `teamreg backup`")->required();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  CLI::App* chosen = &cli;
  while (!chosen->get_subcommands().empty()) chosen = chosen->get_subcommands().front();
  teamreg::app::ConfigFile config_file;
  if (const std::string problem = teamreg::app::apply_config_option(*chosen, *serve, config_file);
      !problem.empty()) {
    std::cerr << "teamreg: invalid configuration: " << problem << "\n";
    return 2;
  }

  config.staging_ttl = std::chrono::seconds(inputs.staging_ttl);
  config.accounts.idle_timeout = std::chrono::seconds(inputs.session_idle_timeout);
  config.server.upload_wait = std::chrono::seconds(inputs.upload_wait);
  config.sweep_interval = std::chrono::seconds(inputs.sweep_interval);
  config.server.cors_origins.clear();
  const std::string& cors = inputs.cors;
  for (std::size_t start = 0; start <= cors.size();) {
    const std::size_t comma = std::min(cors.find(',', start), cors.size());
    std::string origin = cors.substr(start, comma - start);
    origin.erase(0, origin.find_first_not_of(' '));
    origin.erase(origin.find_last_not_of(' ') + 1);
    if (!origin.empty()) config.server.cors_origins.push_back(origin);
    start = comma + 1;
  }
  // A secret only ever comes from the environment: a flag would show it in `ps`.
  if (const char* env_token = std::getenv("TEAMREG_ADMIN_TOKEN"); env_token != nullptr) {
    config.admin_auth.env_token = env_token;
  }
  if (const char* password = std::getenv("TEAMREG_SMTP_PASSWORD"); password != nullptr) {
    config.mail.password = password;
  }
  for (auto [name, target] : {std::pair{"AWS_ACCESS_KEY_ID", &config.blobs.access_key_id},
                              std::pair{"AWS_SECRET_ACCESS_KEY", &config.blobs.secret_access_key},
                              std::pair{"AWS_SESSION_TOKEN", &config.blobs.session_token}}) {
    if (const char* value = std::getenv(name); value != nullptr) *target = value;
  }
  if (*config_show) {
    std::cout << teamreg::app::format_effective(
        teamreg::app::effective_settings(*config_show, config_file));
  }
  if (const std::string problem = teamreg::app::finalize(config); !problem.empty()) {
    std::cerr << "teamreg: invalid configuration: " << problem << "\n";
    return 2;
  }
  try {
    if (*serve) return teamreg::app::serve(config);
    if (*migrate) return teamreg::app::migrate(config);
    if (*check) return teamreg::app::check(config);
    if (*backup) return teamreg::app::backup(config, backup_dir);
    if (*restore) return teamreg::app::restore(config, backup_dir);
    for (const auto& [command, kind] : admin_commands) {
      if (*command) {
        admin_command.kind = kind;
        return teamreg::app::admin_command(config, admin_command);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "teamreg: fatal: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
