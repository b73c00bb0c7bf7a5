#include "app/app.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <termios.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "admin/access_routes.hpp"
#include "admin/accounts.hpp"
#include "admin/cli.hpp"
#include "admin/passwords.hpp"
#include "admin/routes.hpp"
#include "admin/service.hpp"
#include "admin/session_routes.hpp"
#include "app/limits.hpp"
#include "app/logging.hpp"
#include "app/metrics.hpp"
#include "app/stores.hpp"
#include "core/worker_pool.hpp"
#include "files/staging.hpp"
#include "files/sweeper.hpp"
#include "http/rate_limiter.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "notify/outbox_worker.hpp"
#include "notify/smtp_sender.hpp"
#include "notify/templates.hpp"
#include "registration/committer.hpp"
#include "registration/service.hpp"
#include "storage/migrations.hpp"
#include "storage/schema_check.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "web/assets.hpp"
#include "web/openapi.hpp"

namespace teamreg::app {
namespace {

constexpr std::string_view kSequenceName = "team";

admin::AdminConfig admin_config(const AppConfig& config) {
  return admin::AdminConfig{
      std::string(kSequenceName), config.registration.teams_per_church, config.mail.enabled(), {}};
}

/// The built-in templates, or those with overrides from --mail-templates.
tl::expected<notify::MailTemplates, std::string> load_templates(const MailSettings& mail) {
  if (mail.templates_dir.empty()) return notify::MailTemplates::builtin();
  auto templates = notify::MailTemplates::load(mail.templates_dir);
  if (!templates) return tl::make_unexpected("--mail-templates: " + templates.error());
  return templates;
}

/// Startup sync: raises the sequence to the highest stored number if behind, never lowers it.
void sync_at_startup(storage::Store& store, const ids::SequenceFormat& configured) {
  const std::string name(kSequenceName);
  const storage::SequenceState before = store.sync_sequence(name, "system:startup");
  const std::int64_t current = std::max(before.last_number, before.highest_issued);
  const std::string next = ids::format_team_id(before.format, current + 1);
  if (before.highest_issued > before.last_number) {
    spdlog::warn("sequence synchronized name={} from={} current={} next={}", name,
                 before.last_number, current, next);
  } else {
    spdlog::info("sequence in sync name={} current={} next={}", name, current, next);
  }
  if (before.format.prefix != configured.prefix ||
      before.format.min_width != configured.min_width) {
    spdlog::warn(
        "sequence format differs from configuration name={} stored_prefix={} stored_width={} "
        "configured_prefix={} configured_width={}; the stored format is used",
        name, before.format.prefix, before.format.min_width, configured.prefix,
        configured.min_width);
  }
}

/// Turns off the terminal's echo while a password is typed; restores it when it goes.
class EchoOff final {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

/// Runs a task every `interval` on its own thread until destroyed.
class Periodic final {
 public:
  Periodic(std::chrono::seconds interval, std::function<void()> task)
      : interval_(interval), task_(std::move(task)), thread_([this] { run(); }) {}
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;
  ~Periodic() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      task_();
      lock.lock();
    }
  }
  std::chrono::seconds interval_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

int migrate(AppConfig config) {
  setup_logging(config.log_level);
  auto store = open_store(config);
  store->migrate(std::string(kSequenceName), config.id_format);
  spdlog::info("migrations up to date database={}",
               config.uses_postgres() ? "postgresql" : config.database_location());
  return 0;
}

int admin_command(AppConfig config, const admin::Command& command) {
  setup_logging(config.log_level);
  auto store = open_store(config);
  store->migrate(std::string(kSequenceName), config.id_format);
  auto admin_store = open_admin_store(config);
  auto outbox = open_outbox_store(config);
  if (command.is_user_command()) {
    admin::PasswordHasher hasher;
    admin::AccountService accounts(*admin_store, hasher, config.accounts);
    admin::Command user_command = command;
    const bool reads_password = command.kind == admin::Command::Kind::kUserCreate ||
                                command.kind == admin::Command::Kind::kUserSetPassword;
    if (reads_password && isatty(STDIN_FILENO) == 1) {
      user_command.prompt = true;
      const EchoOff quiet;
      return admin::run_user_command(accounts, user_command, std::cin, std::cout, std::cerr);
    }
    return admin::run_user_command(accounts, user_command, std::cin, std::cout, std::cerr);
  }
  admin::AdminService service(*store, *admin_store, *outbox, admin_config(config));
  return admin::run_command(service, command, std::cout, std::cerr);
}

int expected_schema_version(const AppConfig& config) {
  const auto migrations =
      config.uses_postgres() ? storage::postgres_migrations() : storage::sqlite_migrations();
  return migrations.empty() ? 0 : migrations.back().version;
}

/// Everything `check` and `serve` insist on before taking traffic; one line per problem.
std::vector<std::string> validate(storage::Store& store, const AppConfig& config,
                                  files::BlobStore& blobs) {
  auto problems =
      storage::check_schema(store, std::string(kSequenceName), expected_schema_version(config));
  if (auto problem = blobs.probe()) problems.push_back(std::move(*problem));
  return problems;
}

int check(AppConfig config) {
  setup_logging(config.log_level);
  auto blobs = open_blob_store(config);
  auto store = open_store(config);
  std::vector<std::string> problems;
  if (!config.blobs.remote()) {
    // A remote store is probed by validate() below; a local one is created first.
    try {
      blobs->prepare();
    } catch (const std::exception& e) {
      problems.push_back(std::string("document storage is unusable: ") + e.what());
    }
  }
  if (storage::schema_version_or_zero(*store) == expected_schema_version(config)) {
    sync_at_startup(*store, config.id_format);
  }
  for (auto& problem : validate(*store, config, *blobs)) problems.push_back(std::move(problem));
  if (config.blobs.remote() && problems.empty()) {
    std::cout << "object store " << config.blobs.store << " is reachable and writable\n";
  }
  if (config.mail.enabled()) {
    if (auto templates = load_templates(config.mail); !templates) {
      problems.push_back(templates.error());
    }
    // A warning, not a failure: mail waits in the outbox until the server is back.
    auto sender = notify::CurlSmtpSender::create(config.mail.smtp);
    const notify::SendResult probe =
        sender ? (*sender)->probe()
               : notify::SendResult{notify::SendStatus::kPermanent, sender.error(), 0};
    if (probe.ok()) {
      std::cout << "SMTP server accepts connections\n";
    } else {
      std::cerr << "check warning: the SMTP server does not accept a connection (mail stays "
                   "queued until it does): "
                << probe.error << "\n";
    }
  }
  for (const auto& problem : problems) std::cerr << "check failed: " << problem << "\n";
  if (problems.empty()) std::cout << "check passed\n";
  return problems.empty() ? 0 : 1;
}

/// glibc gives freed memory back to the kernel as soon as the top of a heap is free: with many
/// threads each request's buffers were returned with madvise and faulted back in by the next one,
/// and every return flushed the TLB on both cores. Measured on W1 at c=100 (docs/performance.md):
/// about a third more registrations per second with trimming held back. The working set stays
/// small (bodies are streamed to disk), so keeping up to 64 MiB of freed memory is cheap.
void tune_allocator() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

int serve(AppConfig config) {
  tune_allocator();
  setup_logging(config.log_level);
  const std::uint64_t open_files = raise_open_file_limit();
  if (config.registration.max_concurrent_uploads == 0) {
    config.registration.max_concurrent_uploads = derived_upload_slots(
        open_files, config.max_staged_bytes, config.registration.form.max_file_bytes);
  }
  spdlog::info("upload capacity slots={} open_file_limit={} max_staged_bytes={} wait_s={}",
               config.registration.max_concurrent_uploads, open_files, config.max_staged_bytes,
               config.server.upload_wait.count());
  const std::filesystem::path data_dir(config.data_dir);
  std::filesystem::create_directories(data_dir);
  files::StagingArea staging(files::StagingConfig{data_dir / "staging", config.max_staged_bytes});
  staging.prepare();
  auto blob_store = open_blob_store(config);
  files::BlobStore& blobs = *blob_store;
  if (!config.blobs.remote()) blobs.prepare();  // a remote store is probed by validate() below
  spdlog::info("documents store={}", describe_blob_store(config));

  auto store = open_store(config);
  store->migrate(std::string(kSequenceName), config.id_format);
  sync_at_startup(*store, config.id_format);
  if (const auto problems = validate(*store, config, blobs); !problems.empty()) {
    for (const auto& problem : problems) spdlog::critical("startup check failed: {}", problem);
    return 1;
  }
  auto outbox = open_outbox_store(config);
  std::optional<notify::MailTemplates> templates;
  std::unique_ptr<notify::CurlSmtpSender> sender;
  if (config.mail.enabled()) {
    auto loaded = load_templates(config.mail);
    if (!loaded) {
      spdlog::critical("startup check failed: {}", loaded.error());
      return 1;
    }
    templates = std::move(*loaded);
    auto created = notify::CurlSmtpSender::create(config.mail.smtp);
    if (!created) {
      spdlog::critical("startup check failed: --smtp-url: {}", created.error());
      return 1;
    }
    sender = std::move(*created);
    spdlog::info(
        "mail on smtp_url={} starttls={} from={} max_attempts={} retry_base_s={} templates={}{}",
        config.mail.smtp_url, config.mail.starttls, config.mail.worker.from.address,
        config.mail.max_attempts, config.mail.retry_base_seconds,
        config.mail.templates_dir.empty() ? "built-in" : config.mail.templates_dir,
        templates->overridden().empty()
            ? std::string()
            : fmt::format(" overridden={}", fmt::join(templates->overridden(), ",")));
  } else {
    spdlog::info("mail off: no --smtp-url, so no notification is queued");
  }

  Metrics metrics;
  // One delivery worker per process; the outbox rows of every process are its work.
  std::unique_ptr<notify::OutboxWorker> mailer;
  if (sender) {
    mailer = std::make_unique<notify::OutboxWorker>(
        *outbox, *store, *sender, *templates, config.mail.worker,
        [&](bool delivered) { metrics.record_mail_attempt(delivered); });
  }
  const auto mail_queued = [&] {
    if (mailer) mailer->wake();
  };
  // The chores are independent: a staging problem must not keep idempotency records forever.
  files::StoreSweeper store_sweeper;
  const auto sweep = [&] {
    metrics.record_sweep_pass();
    try {
      const auto result = files::sweep_staging(
          staging, blobs,
          [&](std::span<const std::string> keys) { return store->referenced_keys(keys); },
          config.staging_ttl);
      metrics.record_sweep(result.deleted, result.promoted);
      if (result.deleted + result.promoted + result.failed > 0) {
        spdlog::info("staging swept deleted={} promoted={} failed={}", result.deleted,
                     result.promoted, result.failed);
      }
    } catch (const std::exception& e) {
      spdlog::warn("staging sweep failed error=\"{}\"", e.what());
    }
    if (blobs.put_timing() == files::PutTiming::kBeforeCommit) {
      try {
        const auto result = store_sweeper.sweep(
            blobs, staging,
            [&](std::span<const std::string> keys) { return store->referenced_keys(keys); },
            config.staging_ttl);
        metrics.record_sweep(result.deleted, 0);
        if (result.deleted + result.failed > 0) {
          spdlog::info("blob store swept deleted={} failed={}", result.deleted, result.failed);
        }
      } catch (const std::exception& e) {
        spdlog::warn("blob store sweep failed error=\"{}\"", e.what());
      }
    }
    try {
      store->purge_idempotency();
    } catch (const std::exception& e) {
      spdlog::warn("idempotency purge failed error=\"{}\"", e.what());
    }
    release_free_heap();
  };
  sweep();

  // Every admitted upload must find room further in: the queues hold at least all the slots.
  WorkerPool workers(config.worker_threads,
                     std::max<std::size_t>(4096, 2 * config.registration.max_concurrent_uploads));
  CommitterConfig committer_config;
  committer_config.max_queue =
      std::max(committer_config.max_queue, config.registration.max_concurrent_uploads);
  committer_config.rules = storage::CommitRules{
      std::string(kSequenceName), config.registration.teams_per_church, config.mail.enabled()};
  committer_config.on_batch = [&](std::size_t size, double ms) { metrics.record_batch(size, ms); };
  committer_config.deadline = 2 * config.database_timeout;
  Committer committer(*store, committer_config);
  http::RateLimiter rate_limiter(config.rate_limit_per_minute);
  RegistrationService registration(config.registration, staging, blobs, *store, committer, workers,
                                   rate_limiter,
                                   RegistrationEvents{[&](double ms) {
                                                        metrics.record_registration(ms);
                                                        mail_queued();
                                                      },
                                                      [&] { metrics.record_replay(); }});

  http::Router router;
  registration.add_routes(router);
  auto admin_store = open_admin_store(config);
  admin::AdminConfig admin_settings = admin_config(config);
  admin_settings.mail_queued = mail_queued;
  admin::AdminService admin_service(*store, *admin_store, *outbox, std::move(admin_settings));
  admin::Authenticator admin_auth(*admin_store, config.admin_auth);
  admin::PasswordHasher password_hasher;
  admin::AccountService accounts(*admin_store, password_hasher, config.accounts);
  if (!admin_auth.has_tokens() && !accounts.has_active_users()) {
    spdlog::warn(
        "admin API has no tokens and no users; create a user with `teamreg admin user create "
        "--name NAME --password-stdin` or a token with `teamreg admin token create --name NAME`");
  }
  spdlog::info("admin sessions idle_timeout_s={}", config.accounts.idle_timeout.count());
  admin::AdminGuard admin_guard(admin_auth, accounts);
  admin::AdminRoutes admin_routes(admin_service, admin_guard, blobs);
  admin_routes.add_routes(router);
  admin::AccessRoutes access_routes(admin_service, accounts, admin_guard);
  access_routes.add_routes(router);
  admin::SessionRoutes session_routes(accounts, admin_auth);
  session_routes.add_routes(router);
  const web::WebAssets web_assets;
  web_assets.add_routes(router);
  web::add_openapi_route(router);
  router.add_immediate("GET", "/health", [](const http::Request&) {
    return http::json_response(200, R"({"status":"ok"})");
  });
  StoreReadiness readiness(blobs);
  router.add("GET", "/ready", [&](const http::Request& request) {
    const bool database = store->ping();
    const bool storage = std::filesystem::exists(staging.directory()) && readiness.ready();
    const auto body = boost::json::serialize(boost::json::object{
        {"status", database && storage ? "ready" : "unavailable"},
        {"database", database ? "ok" : "unreachable"},
        {"storage", storage ? "ok" : "unwritable"},
    });
    http::Response response = http::json_response(database && storage ? 200 : 503, body);
    if (response.status == 503) response.headers.emplace_back("Retry-After", "5");
    (void)request;
    return response;
  });
  router.add("GET", "/metrics", [&](const http::Request&) {
    http::Response response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics.render([&](std::string& out) {
      out += fmt::format(
          "# HELP teamreg_commit_queue_depth Registrations waiting for the committer.\n"
          "# TYPE teamreg_commit_queue_depth gauge\nteamreg_commit_queue_depth {}\n",
          committer.queue_depth());
      out += fmt::format(
          "# HELP teamreg_staged_bytes Bytes of uploads held in staging by this process.\n"
          "# TYPE teamreg_staged_bytes gauge\nteamreg_staged_bytes {}\n",
          staging.staged_bytes());
      out += fmt::format(
          "# HELP teamreg_staged_files Staged files held by uploads and uncommitted "
          "registrations of this process.\n"
          "# TYPE teamreg_staged_files gauge\nteamreg_staged_files {}\n",
          staging.staged_files());
      if (!config.uses_postgres()) {
        out += fmt::format(
            "# HELP teamreg_sqlite_memory_bytes Bytes SQLite holds: page caches, schemas and "
            "statements of every connection.\n"
            "# TYPE teamreg_sqlite_memory_bytes gauge\nteamreg_sqlite_memory_bytes {}\n",
            storage::sqlite::memory_used_bytes());
      }
      try {
        const auto state = store->sequence(std::string(kSequenceName));
        out += fmt::format(
            "# HELP teamreg_sequence_last_number Last number handed out by a sequence.\n"
            "# TYPE teamreg_sequence_last_number gauge\n"
            "teamreg_sequence_last_number{{sequence=\"{}\"}} {}\n",
            state.name, state.last_number);
        const storage::OutboxStats mail = outbox->stats();
        out += fmt::format(
            "# HELP teamreg_outbox_mails Mails in the outbox by status (all processes).\n"
            "# TYPE teamreg_outbox_mails gauge\n"
            "teamreg_outbox_mails{{status=\"pending\"}} {}\n"
            "teamreg_outbox_mails{{status=\"sent\"}} {}\n"
            "teamreg_outbox_mails{{status=\"dead\"}} {}\n"
            "# HELP teamreg_outbox_oldest_pending_seconds Age of the oldest pending mail.\n"
            "# TYPE teamreg_outbox_oldest_pending_seconds gauge\n"
            "teamreg_outbox_oldest_pending_seconds {:.3f}\n",
            mail.pending, mail.sent, mail.dead, mail.oldest_pending_seconds);
      } catch (const std::exception&) {
        // A scrape must not fail because the database is down; /ready reports that.
      }
    });
    return response;
  });

  if (!config.server.trusted_proxies.empty()) {
    // Said at start because a wrong list silently merges or splits clients' rate-limit buckets.
    spdlog::info("trusted proxies networks={} list=\"{}\"", config.server.trusted_proxies.size(),
                 config.trusted_proxies);
  }
  http::Server server(config.server, router, workers, [&](const http::AccessRecord& r) {
    metrics.record_request(r.route, r.status);
    spdlog::info("request request_id={} method={} route={} status={} bytes={} ms={:.1f} client={}",
                 r.request_id, r.method, r.route, r.status, r.bytes_out, r.ms,
                 r.client_address.empty() ? "-" : r.client_address);
  });
  const std::uint16_t port = server.listen();
  {
    Periodic sweeper(config.sweep_interval, sweep);
    const bool v6 = config.server.host.find(':') != std::string::npos;
    std::cout << "listening on http://" << (v6 ? "[" : "") << config.server.host << (v6 ? "]" : "")
              << ":" << port << std::endl;
    spdlog::info("server started database={} data_dir={} port={}",
                 config.uses_postgres() ? "postgresql" : "sqlite", config.data_dir, port);
    if (mailer) mailer->start();
    // Type=notify units (packaging/teamreg.service) start their dependants only now; a no-op
    // without NOTIFY_SOCKET.
    sd_notify(0, "READY=1");
    server.run();
    sd_notify(0, "STOPPING=1");
  }
  // A send in progress finishes (at most --smtp-timeout); a row it could not mark is sent again
  // by the next process once its lease runs out.
  if (mailer) mailer->stop();
  committer.stop();
  workers.stop();
  spdlog::info("server stopped");
  return 0;
}

}  // namespace teamreg::app
