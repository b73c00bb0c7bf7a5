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
};

/// Which of these storage keys belong to a committed team (answered by the database).
using ReferencedKeys = std::function<std::vector<std::string>(std::span<const std::string>)>;

/// Finishes what a crash may have left in staging: files a committed team references are promoted
/// to the blob store; files nobody references are deleted once older than `ttl` (younger ones may
/// belong to an upload still in flight).
SweepResult sweep_staging(StagingArea& staging, BlobStore& blobs, const ReferencedKeys& referenced,
                          std::chrono::seconds ttl);

}  // namespace teamreg::files
