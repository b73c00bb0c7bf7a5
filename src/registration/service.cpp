#include "registration/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "core/uuid.hpp"
#include "http/header_values.hpp"
#include "registration/refusals.hpp"

namespace teamreg {
namespace {

using Clock = std::chrono::steady_clock;

Error busy(std::string_view what) {
  return Error{ErrorCode::kServiceUnavailable,
               "The server is busy; please retry shortly",
               {},
               std::string(what)};
}

Error deadline_passed() {
  return Error{ErrorCode::kServiceUnavailable,
               "The database did not answer in time; nothing was stored. Please retry.",
               {},
               "commit deadline passed before the commit was queued"};
}

}  // namespace

/// One registration request in progress. Releases its admission slot and its Idempotency-Key
/// when the last reference goes, whatever the outcome.
struct RegistrationService::Upload {
  Upload(RegistrationService& service_in, std::string request_id_in, std::string key_in,
         std::string boundary)
      : service(service_in),
        request_id(std::move(request_id_in)),
        idempotency_key(std::move(key_in)),
        reader(service.staging_, service.config_.form),
        parser(std::move(boundary), service.config_.multipart, reader) {}
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
  ~Upload() {
    if (holds_slot) service.admission_.release();
    release_key();
  }

  /// Called before answering, so that a client retrying the moment it has its answer finds
  /// the key free (and gets the stored response) rather than 409.
  void release_key() {
    if (idempotency_key.empty()) return;
    const std::lock_guard lock(service.keys_mutex_);
    service.keys_in_flight_.erase(idempotency_key);
    idempotency_key.clear();
  }

  RegistrationService& service;
  std::string request_id;
  std::string idempotency_key;
  FormReader reader;
  http::MultipartParser parser;
  std::vector<files::StagedFile> files;
  Clock::time_point started = Clock::now();
  std::atomic<bool> holds_slot{false};
  Admission::Ticket ticket = 0;
};

class RegistrationService::Sink final : public http::UploadSink {
 public:
  explicit Sink(std::shared_ptr<Upload> upload) : upload_(std::move(upload)) {}

  bool admit(std::function<void()> resume) override {
    // The waiting callback keeps the Upload alive, so a granted slot always has an owner that
    // gives it back.
    auto attempt = upload_->service.admission_.acquire([upload = upload_, resume] {
      upload->holds_slot = true;
      resume();
    });
    if (attempt.admitted) upload_->holds_slot = true;
    upload_->ticket = attempt.ticket;
    return attempt.admitted;
  }

  bool withdraw() override { return upload_->service.admission_.withdraw(upload_->ticket); }

  tl::expected<void, Error> on_body(std::string_view bytes) override {
    auto fed = upload_->parser.feed(bytes);
    if (!fed) upload_->service.log_failure("registration failed", *upload_, fed.error());
    return fed;
  }

  void on_complete(http::Responder respond) override {
    if (auto done = upload_->parser.finish(); !done) {
      respond(http::error_response(done.error(), upload_->request_id));
      return;
    }
    upload_->service.process(std::move(upload_), std::move(respond));
  }

 private:
  std::shared_ptr<Upload> upload_;
};

RegistrationService::RegistrationService(RegistrationConfig config, files::StagingArea& staging,
                                         files::BlobStore& blobs, storage::Store& store,
                                         Committer& committer, WorkerPool& workers,
                                         http::RateLimiter& rate_limiter, RegistrationEvents events)
    : config_(std::move(config)),
      staging_(staging),
      blobs_(blobs),
      store_(store),
      committer_(committer),
      workers_(workers),
      rate_limiter_(rate_limiter),
      events_(std::move(events)),
      admission_(config_.max_concurrent_uploads) {}

void RegistrationService::add_routes(http::Router& router) {
  auto upload = [this](const http::Request& request) { return begin(request); };
  router.add_upload("POST", "/api/register/team", upload);
  router.add_upload("POST", "/register/team", upload);
  router.add("GET", "/api/teams", [this](const http::Request& r) { return list_teams(r); });
  router.add("GET", "/api/teams/{team_id}",
             [this](const http::Request& r) { return team_detail(r); });
  router.add("GET", "/api/churches/availability",
             [this](const http::Request& r) { return church_availability(r); });
}

tl::expected<std::unique_ptr<http::UploadSink>, Error> RegistrationService::begin(
    const http::Request& request) {
  const auto content_type = request.header("content-type");
  auto boundary = http::multipart_boundary(content_type ? *content_type : std::string_view{});
  if (!boundary) return tl::unexpected(boundary.error());

  std::string key;
  if (const auto raw_key = request.header("idempotency-key")) {
    if (!http::valid_idempotency_key(*raw_key)) {
      return tl::unexpected(validation_error(
          "Idempotency-Key", "Idempotency-Key must be 1 to 255 visible ASCII characters"));
    }
    key = std::string(*raw_key);
  }
  if (!rate_limiter_.allow(request.client_address)) {
    return tl::unexpected(Error{ErrorCode::kRateLimited,
                                "Too many registrations from this address; please retry later",
                                {},
                                {}});
  }
  if (!key.empty()) {
    const std::lock_guard lock(keys_mutex_);
    if (!keys_in_flight_.insert(key).second) {
      return tl::unexpected(Error{ErrorCode::kIdempotencyKeyInUse,
                                  "A request with this Idempotency-Key is still being processed",
                                  "Idempotency-Key",
                                  {}});
    }
  }
  // From here on the Upload owns the key (and, once admitted, its slot) and gives both back when
  // it ends. Admission itself waits in the server, before the body is read.
  auto upload =
      std::make_shared<Upload>(*this, request.request_id, std::move(key), std::move(*boundary));
  return std::make_unique<Sink>(std::move(upload));
}

void RegistrationService::process(std::shared_ptr<Upload> upload, http::Responder respond) {
  // The commit deadline counts from here, worker queue included: with the database stalled,
  // workers are slow to free up, and a request must not wait for each in turn.
  const auto ready = Clock::now();
  const bool posted = workers_.try_post([this, upload, respond, ready]() mutable {
    const auto fail = [&](const Error& error) {
      upload->release_key();
      log_failure("registration failed", *upload, error);
      respond(http::error_response(error, upload->request_id));
    };
    try {
      upload->files = upload->reader.take_files();
      auto registration = validate_registration(upload->reader.form(), config_.rules);
      if (!registration) return fail(registration.error());
      // Durable before the commit that references them: a 201 must never point at a file a power
      // cut could lose. This is the slow part, and it happens outside any database lock.
      for (auto& file : upload->files) {
        if (auto synced = file.sync(); !synced) return fail(synced.error());
      }
      if (!upload->files.empty()) {
        if (auto synced = staging_.sync_directory(); !synced) return fail(synced.error());
      }

      if (Clock::now() >= ready + committer_.deadline()) return fail(deadline_passed());
      registration->request_uuid = time_ordered_uuid();
      registration->request_id = upload->request_id;
      if (!upload->idempotency_key.empty()) {
        registration->idempotency_key = upload->idempotency_key;
        registration->idempotency_fingerprint = upload->reader.fingerprint();
        if (auto stored = store_.find_idempotent(upload->idempotency_key)) {
          if (stored->fingerprint != registration->idempotency_fingerprint) {
            return fail(refusal_error(Refusal::kIdempotencyKeyReused, config_.teams_per_church));
          }
          if (events_.replayed) events_.replayed();
          upload->release_key();
          http::Response replay = http::json_response(stored->status, std::move(stored->body));
          replay.headers.emplace_back("Idempotent-Replayed", "true");
          return respond(std::move(replay));
        }
      }
      // A remote store gets the documents now, before the commit that references them: a 201
      // promises they are in the store. Outside any lock; registrations upload in parallel, each
      // on its own worker.
      const bool stored_first = blobs_.put_timing() == files::PutTiming::kBeforeCommit;
      auto commit_since = ready;
      if (stored_first) {
        if (auto stored = store_documents(*upload); !stored) return fail(stored.error());
        commit_since =
            Clock::now();  // the bucket's time (bounded on its own) is not the database's
      }
      const auto player_count = registration->players.size();
      const bool queued = committer_.submit(
          std::move(*registration),
          [this, upload, respond, player_count, stored_first](CommitResult outcome) mutable {
            upload->release_key();
            if (auto* committed = std::get_if<Created>(&outcome)) {
              if (!stored_first) hand_over(upload->files);
              const double ms =
                  std::chrono::duration<double, std::milli>(Clock::now() - upload->started).count();
              spdlog::info("team registered team_id={} players={} request_id={} ms={:.1f}",
                           committed->team_id, player_count, upload->request_id, ms);
              if (events_.registered) events_.registered(ms);
              respond(http::json_response(201, std::move(committed->body)));
              if (stored_first) {
                discard_staged(std::move(upload->files));
              } else {
                promote(std::move(upload->files));
              }
            } else if (auto* replayed = std::get_if<storage::Replayed>(&outcome)) {
              if (events_.replayed) events_.replayed();
              if (stored_first) forget_stored(upload->files);
              http::Response replay = http::json_response(replayed->status, replayed->body);
              replay.headers.emplace_back("Idempotent-Replayed", "true");
              respond(std::move(replay));
            } else {
              const auto& error = std::get<Error>(outcome);
              if (error.code == ErrorCode::kServiceUnavailable) {
                // The outcome may be ambiguous (a connection lost during COMMIT): the team may
                // exist. Leave the files to the sweepers, which keep them if a team references
                // them and delete them otherwise.
                hand_over(upload->files);
              } else if (stored_first) {
                forget_stored(upload->files);
              }
              log_failure("registration not committed", *upload, error);
              respond(http::error_response(error, upload->request_id));
            }
          },
          commit_since);
      if (!queued) {
        if (stored_first) forget_stored(upload->files);
        return fail(busy("commit queue full"));
      }
    } catch (const std::exception& e) {
      fail(Error{ErrorCode::kServiceUnavailable,
                 "The registration could not be processed right now; nothing was stored",
                 {},
                 e.what()});
    }
  });
  if (!posted) respond(http::error_response(busy("worker queue full"), upload->request_id));
}

void RegistrationService::log_failure(std::string_view what, const Upload& upload,
                                      const Error& error) {
  if (error.log_detail.empty()) return;
  const bool resource_fault =
      error.code == ErrorCode::kStorageFull || error.code == ErrorCode::kServiceUnavailable;
  if (!resource_fault) {
    spdlog::warn("{} request_id={} error_code={} detail=\"{}\"", what, upload.request_id,
                 error_code_name(error.code), error.log_detail);
    return;
  }
  if (const auto held_back = resource_faults_.admit()) {
    spdlog::error("{} request_id={} error_code={} detail=\"{}\" similar_suppressed={}", what,
                  upload.request_id, error_code_name(error.code), error.log_detail, *held_back);
  }
}

void RegistrationService::hand_over(std::vector<files::StagedFile>& files) {
  // These files now belong to a team (or maybe do): never deleted with the request, and out of the
  // staging quota, which bounds uploads in flight; promotion, now or by the sweeper, is separate.
  for (auto& file : files) {
    file.keep();
    staging_.release(file.size_bytes());
  }
}

void RegistrationService::promote(std::vector<files::StagedFile> files) {
  std::vector<std::string> keys;
  keys.reserve(files.size());
  for (const auto& file : files) keys.push_back(file.key());
  files.clear();  // kept files: dropping the handles deletes nothing
  // Off the committer thread. If this never runs (crash, full pool), the sweeper promotes them.
  workers_.try_post([this, keys = std::move(keys)] {
    for (const auto& key : keys) {
      try {
        blobs_.put(staging_.path_of(key), key);
      } catch (const std::exception& e) {
        spdlog::warn("document promotion deferred to sweeper key={} error=\"{}\"", key, e.what());
      }
    }
  });
}

tl::expected<void, Error> RegistrationService::store_documents(const Upload& upload) {
  for (std::size_t i = 0; i < upload.files.size(); ++i) {
    const auto& file = upload.files[i];
    try {
      blobs_.put(staging_.path_of(file.key()), file.key());
    } catch (const std::exception& e) {
      // Nothing will reference what did get stored: delete it now rather than after the TTL.
      forget_stored(std::span(upload.files).first(i));
      return tl::unexpected(Error{ErrorCode::kServiceUnavailable,
                                  "The document store is unavailable; nothing was stored. Please "
                                  "retry shortly.",
                                  {},
                                  std::string("store documents: ") + e.what()});
    }
  }
  return {};
}

void RegistrationService::forget_stored(std::span<const files::StagedFile> files) {
  if (files.empty()) return;
  std::vector<std::string> keys;
  keys.reserve(files.size());
  for (const auto& file : files) keys.push_back(file.key());
  // Best effort, off the caller's thread: whatever is left, the store sweep deletes after the TTL.
  workers_.try_post([this, keys = std::move(keys)] {
    for (const auto& key : keys) {
      try {
        blobs_.remove(key);
      } catch (const std::exception& e) {
        spdlog::warn("unreferenced document left to the sweeper key={} error=\"{}\"", key,
                     e.what());
      }
    }
  });
}

void RegistrationService::discard_staged(std::vector<files::StagedFile> files) {
  // The store has the documents; the staged copies go (their destructors delete them) on a
  // worker, not on the committer thread. If the pool is full they go right here.
  auto owned = std::make_shared<std::vector<files::StagedFile>>(std::move(files));
  workers_.try_post([owned] { owned->clear(); });
}

http::Response RegistrationService::list_teams(const http::Request& request) {
  const auto limit = http::int_query_param(request, "limit", 100, 1, 1000);
  if (!limit) return http::error_response(limit.error(), request.request_id);
  const auto offset = http::int_query_param(request, "offset", 0, 0, 1'000'000'000);
  if (!offset) return http::error_response(offset.error(), request.request_id);
  const storage::TeamPage page = store_.list_teams(*limit, *offset);
  boost::json::array teams;
  for (const auto& t : page.teams) {
    teams.push_back(boost::json::object{{"team_id", t.team_id},
                                        {"team_name", t.team_name},
                                        {"church_name", t.church_name},
                                        {"captain_name", t.captain_name},
                                        {"registration_date", t.registration_date},
                                        {"registration_status", t.status}});
  }
  const auto returned = teams.size();
  return http::json_response(200, boost::json::serialize(boost::json::object{
                                      {"success", true},
                                      {"total_teams", page.total},
                                      {"returned", returned},
                                      {"teams", std::move(teams)},
                                  }));
}

http::Response RegistrationService::team_detail(const http::Request& request) {
  const auto team = store_.find_team(request.path_params.at("team_id"));
  if (!team) {
    return http::error_response(Error{ErrorCode::kTeamNotFound, "Team not found", {}, {}},
                                request.request_id);
  }
  boost::json::array players;
  for (const auto& p : team->players) {
    players.push_back(
        boost::json::object{{"player_id", p.player_id}, {"name", p.name}, {"role", p.role}});
  }
  const auto& t = team->summary;
  return http::json_response(200, boost::json::serialize(boost::json::object{
                                      {"success", true},
                                      {"team_id", t.team_id},
                                      {"team_name", t.team_name},
                                      {"church_name", t.church_name},
                                      {"captain_name", t.captain_name},
                                      {"registration_date", t.registration_date},
                                      {"registration_status", t.status},
                                      {"players", std::move(players)},
                                  }));
}

http::Response RegistrationService::church_availability(const http::Request& /*request*/) {
  const auto churches = store_.church_counts();
  boost::json::array list;
  std::int64_t locked = 0;
  for (const auto& c : churches) {
    const bool is_locked = c.team_count >= config_.teams_per_church;
    locked += is_locked ? 1 : 0;
    list.push_back(boost::json::object{
        {"church_name", c.church_name}, {"team_count", c.team_count}, {"locked", is_locked}});
  }
  const auto total = static_cast<std::int64_t>(churches.size());
  return http::json_response(
      200, boost::json::serialize(boost::json::object{
               {"churches", std::move(list)},
               {"summary", boost::json::object{{"total_churches", total},
                                               {"locked_churches", locked},
                                               {"available_churches", total - locked}}},
           }));
}

}  // namespace teamreg
