#include "files/sweeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

namespace teamreg::files {

SweepResult sweep_staging(StagingArea& staging, BlobStore& blobs, const ReferencedKeys& referenced,
                          std::chrono::seconds ttl) {
  namespace fs = std::filesystem;
  SweepResult result;
  std::vector<std::string> keys;
  std::vector<bool> old;
  const auto now = fs::file_time_type::clock::now();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(staging.directory(), ec)) {
    std::error_code entry_ec;
    if (!entry.is_regular_file(entry_ec)) continue;
    if (staging.in_use(entry.path().filename().string())) continue;
    const auto modified = entry.last_write_time(entry_ec);
    if (entry_ec) continue;
    keys.push_back(entry.path().filename().string());
    old.push_back(now - modified >= ttl);
  }
  if (ec) {
    spdlog::warn("staging sweep cannot list directory error=\"{}\"", ec.message());
    return result;
  }
  if (keys.empty()) return result;
  auto owned = referenced(keys);
  std::sort(owned.begin(), owned.end());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto path = staging.path_of(keys[i]);
    if (std::binary_search(owned.begin(), owned.end(), keys[i])) {
      try {
        blobs.put(path, keys[i]);
        // A local store renamed it; a remote one copied it, and the copy is what counts now.
        std::error_code remove_ec;
        fs::remove(path, remove_ec);
        ++result.promoted;
      } catch (const std::exception& e) {
        ++result.failed;
        spdlog::warn("staging sweep cannot store key={} error=\"{}\"", keys[i], e.what());
      }
    } else if (old[i] && !staging.in_use(keys[i])) {
      std::error_code remove_ec;
      if (fs::remove(path, remove_ec)) {
        ++result.deleted;
      } else if (remove_ec) {
        ++result.failed;
        spdlog::warn("staging sweep cannot delete key={} error=\"{}\"", keys[i],
                     remove_ec.message());
      }
    }
  }
  return result;
}

SweepResult StoreSweeper::sweep(BlobStore& blobs, const StagingArea& staging,
                                const ReferencedKeys& referenced, std::chrono::seconds ttl) {
  const std::lock_guard lock(mutex_);
  SweepResult result;
  const auto now = std::chrono::system_clock::now();
  std::vector<std::string> candidates;
  for (auto& entry : blobs.list()) {
    if (now - entry.modified < ttl) continue;
    if (referenced_.contains(entry.key) || staging.in_use(entry.key)) continue;
    candidates.push_back(std::move(entry.key));
  }
  if (candidates.empty()) return result;
  auto owned = referenced(candidates);
  for (auto& key : owned) referenced_.insert(std::move(key));
  for (const auto& key : candidates) {
    if (referenced_.contains(key) || staging.in_use(key)) continue;
    try {
      blobs.remove(key);
      ++result.deleted;
    } catch (const std::exception& e) {
      ++result.failed;
      spdlog::warn("store sweep cannot delete key={} error=\"{}\"", key, e.what());
    }
  }
  return result;
}

}  // namespace teamreg::files
