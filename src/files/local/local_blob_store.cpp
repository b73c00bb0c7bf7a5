#include "files/local/local_blob_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace teamreg::files {
namespace {

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open documents directory");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw std::system_error(errno, std::generic_category(), "fsync documents directory");
}

}  // namespace

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
  fsync_directory(directory_);
}

std::optional<std::filesystem::path> LocalBlobStore::locate(std::string_view key) const {
  auto path = directory_ / std::string(key);
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path;
  return std::nullopt;
}

bool LocalBlobStore::writable() const { return ::access(directory_.c_str(), W_OK | X_OK) == 0; }

}  // namespace teamreg::files
