#include "files/staging.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/uuid.hpp"
#include "files/sniff.hpp"

namespace teamreg::files {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void fsync_path(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("open directory");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw_errno("fsync directory");
}

}  // namespace

Error io_failure(int error_number, std::string_view what) {
  const std::string detail =
      fmt::format("{}: {} (errno={})", what, std::strerror(error_number), error_number);
  if (error_number == ENOSPC || error_number == EDQUOT) {
    return Error{ErrorCode::kStorageFull,
                 "There is no space left to store the documents; nothing was stored. Please "
                 "retry later.",
                 {},
                 detail};
  }
  return Error{ErrorCode::kServiceUnavailable,
               "The documents could not be stored right now; nothing was stored. Please retry.",
               {},
               detail};
}

StagedFile::StagedFile(StagingArea& area, std::string key, int fd)
    : area_(&area), key_(std::move(key)), fd_(fd) {}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : area_(other.area_),
      key_(std::move(other.key_)),
      fd_(other.fd_),
      size_bytes_(other.size_bytes_),
      head_(std::move(other.head_)),
      kept_(other.kept_),
      tracked_(other.tracked_) {
  other.fd_ = -1;
  other.kept_ = true;  // the moved-from object owns nothing
  other.tracked_ = false;
}

StagedFile::~StagedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!kept_) {
    area_->remove(key_);
    area_->release(size_bytes_);
  }
  if (tracked_) area_->forget(key_);
}

tl::expected<void, Error> StagedFile::write(std::string_view bytes) {
  if (!area_->reserve(bytes.size())) {
    return tl::unexpected(Error{ErrorCode::kServiceUnavailable,
                                "The server is busy receiving uploads; please retry shortly",
                                {},
                                "staging quota exhausted"});
  }
  size_bytes_ += bytes.size();
  if (head_.size() < kSniffBytes) {
    head_.append(bytes.substr(0, kSniffBytes - head_.size()));
  }
  if (fd_ < 0) return tl::unexpected(io_failure(EBADF, "write staged file after close"));
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(io_failure(errno, "write staged file"));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

void StagedFile::close() {
  if (fd_ < 0) return;
  // Errors of close() on a local file would resurface at fsync, which sync() checks.
  ::close(fd_);
  fd_ = -1;
}

tl::expected<void, Error> StagedFile::sync() {
  close();
  const auto path = area_->path_of(key_);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(io_failure(errno, "open staged file for fsync"));
  const int rc = ::fsync(fd);
  const int fsync_errno = errno;
  ::close(fd);
  if (rc != 0) return tl::unexpected(io_failure(fsync_errno, "fsync staged file"));
  return {};
}

void StagedFile::keep() {
  kept_ = true;
}

StagingArea::StagingArea(StagingConfig config)
    : config_(std::move(config)), directory_sync_([this] { fsync_path(config_.directory); }) {}

void StagingArea::prepare() {
  std::filesystem::create_directories(config_.directory);
  const auto probe = config_.directory / (".probe-" + random_uuid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("staging directory is not writable");
  ::close(fd);
  std::filesystem::remove(probe);
}

tl::expected<StagedFile, Error> StagingArea::create() {
  std::string key = time_ordered_uuid();
  const auto path = path_of(key);
  {
    // Tracked before the file exists, so a sweep can never see it unowned.
    const std::lock_guard lock(live_mutex_);
    live_.insert(key);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error_number = errno;
    forget(key);
    return tl::unexpected(io_failure(error_number, "create staged file"));
  }
  return StagedFile(*this, std::move(key), fd);
}

bool StagingArea::in_use(std::string_view key) const {
  const std::lock_guard lock(live_mutex_);
  return live_.contains(std::string(key));
}

std::size_t StagingArea::staged_files() const {
  const std::lock_guard lock(live_mutex_);
  return live_.size();
}

void StagingArea::forget(const std::string& key) {
  const std::lock_guard lock(live_mutex_);
  live_.erase(key);
}

std::filesystem::path StagingArea::path_of(std::string_view key) const {
  return config_.directory / std::string(key);
}

void StagingArea::remove(std::string_view key) {
  std::error_code ec;
  std::filesystem::remove(path_of(key), ec);
}

void StagingArea::release(std::uint64_t bytes) {
  std::uint64_t current = staged_bytes_.load();
  std::uint64_t next = 0;
  do {
    next = current > bytes ? current - bytes : 0;
  } while (!staged_bytes_.compare_exchange_weak(current, next));
}

bool StagingArea::reserve(std::uint64_t bytes) {
  std::uint64_t current = staged_bytes_.load();
  do {
    if (current + bytes > config_.max_staged_bytes) return false;
  } while (!staged_bytes_.compare_exchange_weak(current, current + bytes));
  return true;
}

tl::expected<void, Error> StagingArea::sync_directory() {
  try {
    directory_sync_.sync();
  } catch (const std::system_error& e) {
    return tl::unexpected(io_failure(e.code().value(), "fsync staging directory"));
  }
  return {};
}

}  // namespace teamreg::files
