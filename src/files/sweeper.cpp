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
        blobs.promote(path, keys[i]);
        ++result.promoted;
      } catch (const std::exception& e) {
        ++result.failed;
        spdlog::warn("staging sweep cannot promote key={} error=\"{}\"", keys[i], e.what());
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

}  // namespace teamreg::files
