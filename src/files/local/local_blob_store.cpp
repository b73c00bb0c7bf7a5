#include "files/local/local_blob_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace teamreg::files {
LocalBlobStore::LocalBlobStore(std::filesystem::path directory)
    : directory_(std::move(directory)) {}

void LocalBlobStore::prepare() {
  std::filesystem::create_directories(directory_);
  if (!writable()) {
    throw std::runtime_error("documents directory is not writable: " + directory_.string());
  }
}

void LocalBlobStore::promote(const std::filesystem::path& staged, std::string_view key) {
  const auto target = directory_ / std::string(key);
  std::error_code ec;
  std::filesystem::rename(staged, target, ec);
  if (ec) {
    // Already promoted (a retry after a crash between rename and bookkeeping) is success.
    if (std::filesystem::exists(target)) return;
    throw std::system_error(ec, "promote staged document");
  }
  // No directory fsync: if a crash loses the rename, the file is still in staging, where readers
  // look too, and the sweeper promotes it again because a team references it.
}

std::optional<std::filesystem::path> LocalBlobStore::locate(std::string_view key) const {
  auto path = directory_ / std::string(key);
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path;
  return std::nullopt;
}

bool LocalBlobStore::writable() const {
  return ::access(directory_.c_str(), W_OK | X_OK) == 0;
}

}  // namespace teamreg::files
