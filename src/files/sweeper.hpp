#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "files/blob_store.hpp"
#include "files/staging.hpp"

namespace teamreg::files {

struct SweepResult {
  std::size_t promoted = 0;  ///< staged files of committed teams put into the blob store late
  std::size_t deleted = 0;   ///< orphans removed
  std::size_t failed = 0;    ///< files that could not be put or deleted (retried next sweep)
};

/// Which of these storage keys belong to a committed team (answered by the database).
using ReferencedKeys = std::function<std::vector<std::string>(std::span<const std::string>)>;

/// Finishes what a crash may have left in staging: files a committed team references are put into
/// the blob store (and leave staging); files nobody references are deleted once older than `ttl`.
/// A file that an upload of this process still holds (StagingArea::in_use) is never touched,
/// however old; the TTL covers uploads of other processes sharing the directory. One file that
/// fails does not stop the others.
SweepResult sweep_staging(StagingArea& staging, BlobStore& blobs, const ReferencedKeys& referenced,
                          std::chrono::seconds ttl);

/// Deletes what a store that is written before the commit (PutTiming::kBeforeCommit) holds for
/// registrations that never committed: keys older than the TTL that no committed team references
/// and no upload of this process holds. Several processes may sweep one store at once: a key is
/// only deleted when unreferenced and old, and deleting it twice is harmless. The TTL must exceed
/// the longest registration (first document stored → commit) of any process; the default hour
/// does by far. Keys once found referenced are remembered (teams are never deleted), so the
/// database is only asked about keys not seen referenced before.
class StoreSweeper final {
 public:
  SweepResult sweep(BlobStore& blobs, const StagingArea& staging, const ReferencedKeys& referenced,
                    std::chrono::seconds ttl);

 private:
  std::mutex mutex_;
  std::unordered_set<std::string> referenced_;
};

}  // namespace teamreg::files
