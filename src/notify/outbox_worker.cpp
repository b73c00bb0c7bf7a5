#include "notify/outbox_worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/uuid.hpp"

namespace teamreg::notify {
namespace {

using std::chrono::milliseconds;

std::optional<MailKind> kind_named(std::string_view name) {
  for (const MailKind kind : kMailKinds) {
    if (mail_kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

TeamMailData mail_data(const storage::TeamRecord& team, std::string_view reason) {
  TeamMailData data;
  data.team_id = team.summary.team_id;
  data.team_name = team.summary.team_name;
  data.church_name = team.summary.church_name;
  data.captain_name = team.captain.name;
  data.vice_name = team.vice.name;
  data.players.reserve(team.players.size());
  for (const storage::PlayerRecord& p : team.players) data.players.push_back({p.name, p.role});
  data.reason = std::string(reason);
  return data;
}

double unit_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

milliseconds retry_delay(int failed_attempts, milliseconds base, double unit_random) {
  const int doublings = std::clamp(failed_attempts - 1, 0, 30);
  const double nominal = static_cast<double>(base.count()) * std::ldexp(1.0, doublings);
  return milliseconds(static_cast<std::int64_t>(nominal * (0.75 + 0.5 * unit_random)));
}

OutboxWorker::OutboxWorker(storage::OutboxStore& outbox, storage::Store& teams, MailSender& sender,
                           const MailTemplates& templates, OutboxWorkerConfig config,
                           std::function<void(bool)> on_attempt)
    : outbox_(outbox),
      teams_(teams),
      sender_(sender),
      templates_(templates),
      config_(std::move(config)),
      on_attempt_(std::move(on_attempt)) {}

OutboxWorker::~OutboxWorker() {
  stop();
}

void OutboxWorker::start() {
  thread_ = std::thread([this] { run(); });
}

void OutboxWorker::wake() {
  {
    const std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

void OutboxWorker::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

SendResult OutboxWorker::send(const storage::ClaimedMail& mail) {
  const auto kind = kind_named(mail.kind);
  if (!kind) return SendResult{SendStatus::kPermanent, "unknown kind of mail", 0};
  const auto team = teams_.find_team(mail.team_id);
  if (!team) return SendResult{SendStatus::kPermanent, "the team no longer exists", 0};
  const RenderedMail rendered = templates_.render(*kind, mail_data(*team, mail.reason));
  MailMessage message;
  message.from = config_.from;
  message.reply_to = config_.reply_to;
  message.to = Mailbox{team->captain.name, mail.recipient};
  if (!mail.cc.empty() && mail.cc != mail.recipient) {
    message.cc.push_back(Mailbox{team->vice.name, mail.cc});
  }
  message.subject = rendered.subject;
  message.text = rendered.text;
  message.html = rendered.html;
  message.message_id = make_message_id(mail.id, address_domain(config_.from.address));
  message.date = std::chrono::system_clock::now();
  return sender_.send(message);
}

bool OutboxWorker::deliver_one() {
  const std::string claim = random_uuid();
  const auto mail = outbox_.claim(claim, config_.lease);
  if (!mail) return false;
  SendResult result;
  try {
    result = send(*mail);
  } catch (const std::exception& e) {
    // The team could not be read (database unreachable): worth another attempt later.
    spdlog::warn("mail not composed outbox_id={} error=\"{}\"", mail->id, e.what());
    result = SendResult{SendStatus::kTransient, "the team could not be read from the database", 0};
  }
  if (result.ok()) {
    outbox_.mark_sent(mail->id);
    spdlog::info("mail sent outbox_id={} kind={} team_id={} attempt={}", mail->id, mail->kind,
                 mail->team_id, mail->attempts);
  } else {
    // A refusal by the server, even a 5xx, is retried until the attempts run out: a full
    // mailbox, a policy or a relay's configuration get fixed, and the mail then still goes out.
    // Only a mail that can never be sent (it cannot be composed, its team is gone) dies at once.
    const bool unsendable = result.status == SendStatus::kPermanent && result.smtp_code == 0;
    const bool last = unsendable || mail->attempts >= config_.max_attempts;
    const std::optional<milliseconds> retry_in =
        last ? std::nullopt
             : std::optional(retry_delay(mail->attempts, config_.retry_base, unit_random()));
    outbox_.mark_failed(mail->id, claim, retry_in, result.error);
    if (retry_in) {
      spdlog::warn(
          "mail delivery failed outbox_id={} kind={} team_id={} attempt={} max_attempts={} "
          "retry_in_s={:.1f} smtp_code={} error=\"{}\"",
          mail->id, mail->kind, mail->team_id, mail->attempts, config_.max_attempts,
          static_cast<double>(retry_in->count()) / 1000.0, result.smtp_code, result.error);
    } else {
      spdlog::error(
          "mail delivery given up outbox_id={} kind={} team_id={} attempt={} unsendable={} "
          "smtp_code={} error=\"{}\"; POST /admin/outbox/{}/retry sends it again",
          mail->id, mail->kind, mail->team_id, mail->attempts, unsendable, result.smtp_code,
          result.error, mail->id);
    }
  }
  if (on_attempt_) on_attempt_(result.ok());
  return true;
}

void OutboxWorker::run() {
  while (true) {
    {
      const std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    bool claimed = false;
    milliseconds wait = config_.poll_interval;
    try {
      claimed = deliver_one();
      if (!claimed) {
        if (const auto due = outbox_.next_due()) {
          wait = std::clamp(*due, milliseconds(10), config_.poll_interval);
        }
      }
    } catch (const std::exception& e) {
      // The database is unreachable: a claimed row keeps its lease and is taken up again later.
      if (const auto held_back = errors_.admit()) {
        spdlog::warn("mail outbox unavailable error=\"{}\" similar_suppressed={}", e.what(),
                     *held_back);
      }
    }
    if (claimed) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

}  // namespace teamreg::notify
