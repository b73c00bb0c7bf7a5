#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>

#include "core/admission.hpp"
#include "core/burst_log.hpp"
#include "core/worker_pool.hpp"
#include "files/blob_store.hpp"
#include "files/staging.hpp"
#include "http/message.hpp"
#include "http/multipart.hpp"
#include "http/rate_limiter.hpp"
#include "http/router.hpp"
#include "registration/committer.hpp"
#include "registration/form_reader.hpp"
#include "storage/store.hpp"

namespace teamreg {

struct RegistrationConfig {
  RegistrationRules rules;
  FormLimits form;
  http::MultipartLimits multipart;
  int teams_per_church = 2;
  /// Uploads streaming or committing at once; more wait (unread) for a slot. 0 = derived from the
  /// open-file limit and the staging quota at start (see app/).
  std::size_t max_concurrent_uploads = 0;
};

/// Observations the service reports (metrics); all optional.
struct RegistrationEvents {
  std::function<void(double ms)> registered;
  std::function<void()> replayed;
};

/// POST /api/register/team end to end: admission (rate limit, capacity, Idempotency-Key), the
/// streamed form, validation, the group-commit queue, and the documents' way into the blob store
/// (before the commit for a remote store, after it for the local directory).
/// Also the public read routes.
class RegistrationService final {
 public:
  RegistrationService(RegistrationConfig config, files::StagingArea& staging,
                      files::BlobStore& blobs, storage::Store& store, Committer& committer,
                      WorkerPool& workers, http::RateLimiter& rate_limiter,
                      RegistrationEvents events = {});

  void add_routes(http::Router& router);

 private:
  struct Upload;
  friend struct Upload;
  class Sink;

  tl::expected<std::unique_ptr<http::UploadSink>, Error> begin(const http::Request& request);
  void process(std::shared_ptr<Upload> upload, http::Responder respond);
  /// Logs a failure; storms of resource faults (no space, no descriptors) are summarised.
  void log_failure(std::string_view what, const Upload& upload, const Error& error);
  /// Keeps the files of a committed (or possibly committed) registration and takes them out of
  /// the staging quota.
  void hand_over(std::vector<files::StagedFile>& files);
  void promote(std::vector<files::StagedFile> files);
  /// Puts every document into a store written before the commit; SERVICE_UNAVAILABLE when one
  /// cannot be stored (after the store's own retries).
  tl::expected<void, Error> store_documents(const Upload& upload);
  /// Deletes stored documents that no team will reference (best effort, on a worker).
  void forget_stored(std::span<const files::StagedFile> files);
  /// Drops staged copies of documents already in the store, on a worker.
  void discard_staged(std::vector<files::StagedFile> files);
  http::Response list_teams(const http::Request& request);
  http::Response team_detail(const http::Request& request);
  http::Response church_availability(const http::Request& request);

  RegistrationConfig config_;
  files::StagingArea& staging_;
  files::BlobStore& blobs_;
  storage::Store& store_;
  Committer& committer_;
  WorkerPool& workers_;
  http::RateLimiter& rate_limiter_;
  RegistrationEvents events_;
  BurstLog resource_faults_;
  std::mutex keys_mutex_;
  std::set<std::string, std::less<>> keys_in_flight_;
  /// Last: waiting callbacks own Uploads, whose destructors use the members above.
  Admission admission_;
};

}  // namespace teamreg
