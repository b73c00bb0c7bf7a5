#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "core/burst_log.hpp"
#include "notify/mail.hpp"
#include "notify/smtp_sender.hpp"
#include "notify/templates.hpp"
#include "storage/outbox_store.hpp"
#include "storage/store.hpp"

namespace teamreg::notify {

struct OutboxWorkerConfig {
  Mailbox from;
  std::optional<Mailbox> reply_to;
  /// Attempts before a row is `dead` (a 5xx too is retried); a mail that cannot be composed is
  /// dead at once.
  int max_attempts = 10;
  /// The wait after the n-th failed attempt is retry_base·2^(n−1), ±25 % jitter: with the
  /// defaults 3 min, 6 min, … 12.8 h, about 25 h from the first attempt to the tenth.
  std::chrono::milliseconds retry_base{180'000};
  /// How often to look for rows queued by other processes (rows this process queues wake it).
  std::chrono::milliseconds poll_interval{5'000};
  /// How long a claimed row stays with this worker: longer than one send can take (the SMTP
  /// timeout), so that only a worker that died gives its rows up.
  std::chrono::milliseconds lease{70'000};
};

/// The wait before the next attempt after `failed_attempts` (≥ 1) failures; `unit_random` in
/// [0, 1) places it within ±25 % of base·2^(failed_attempts−1).
std::chrono::milliseconds retry_delay(int failed_attempts, std::chrono::milliseconds base,
                                      double unit_random);

/// The delivery worker of one process: claims due outbox rows one at a time, renders the mail
/// from the team as it is now, sends it, and records the outcome. Delivery is at least once: a
/// process that dies after the server accepted a mail but before the row was marked sent leaves a
/// claimed row that is sent again once its lease runs out, with the same Message-ID.
class OutboxWorker final {
 public:
  /// `on_attempt(delivered)` after each attempt (metrics).
  OutboxWorker(storage::OutboxStore& outbox, storage::Store& teams, MailSender& sender,
               const MailTemplates& templates, OutboxWorkerConfig config,
               std::function<void(bool delivered)> on_attempt = {});
  OutboxWorker(const OutboxWorker&) = delete;
  OutboxWorker& operator=(const OutboxWorker&) = delete;
  ~OutboxWorker();

  /// Runs the loop on a thread of its own until stop().
  void start();
  /// Looks for due rows now (a change of this process queued one).
  void wake();
  /// Finishes the attempt in progress, if any, and returns.
  void stop();

  /// One claim and send. True when a row was claimed. The loop's step, exposed for tests.
  bool deliver_one();

 private:
  SendResult send(const storage::ClaimedMail& mail);
  void run();

  storage::OutboxStore& outbox_;
  storage::Store& teams_;
  MailSender& sender_;
  const MailTemplates& templates_;
  OutboxWorkerConfig config_;
  std::function<void(bool)> on_attempt_;
  BurstLog errors_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace teamreg::notify
