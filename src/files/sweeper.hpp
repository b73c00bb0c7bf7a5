#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "files/blob_store.hpp"
#include "files/staging.hpp"

namespace teamreg::files {

struct SweepResult {
  std::size_t promoted = 0;  ///< staged files of committed teams moved into the blob store
  std::size_t deleted = 0;   ///< orphans removed
  std::size_t failed = 0;    ///< files that could not be promoted or deleted (retried next sweep)
};

/// Which of these storage keys belong to a committed team (answered by the database).
using ReferencedKeys = std::function<std::vector<std::string>(std::span<const std::string>)>;

/// Finishes what a crash may have left in staging: files a committed team references are promoted
/// to the blob store; files nobody references are deleted once older than `ttl`. A file that an
/// upload of this process still holds (StagingArea::in_use) is never touched, however old; the
/// TTL covers uploads of other processes sharing the directory. One file that fails does not stop
/// the others.
SweepResult sweep_staging(StagingArea& staging, BlobStore& blobs, const ReferencedKeys& referenced,
                          std::chrono::seconds ttl);

}  // namespace teamreg::files
