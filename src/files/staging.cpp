#include "files/staging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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

StagedFile::StagedFile(StagingArea& area, std::string key, int fd)
    : area_(&area), key_(std::move(key)), fd_(fd) {}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : area_(other.area_),
      key_(std::move(other.key_)),
      fd_(other.fd_),
      size_bytes_(other.size_bytes_),
      head_(std::move(other.head_)),
      kept_(other.kept_) {
  other.fd_ = -1;
  other.kept_ = true;  // the moved-from object owns nothing
}

StagedFile::~StagedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!kept_) {
    area_->remove(key_);
    area_->release(size_bytes_);
  }
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
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write staged file");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

void StagedFile::sync_and_close() {
  if (fd_ < 0) return;
  const int rc = ::fsync(fd_);
  ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw_errno("fsync staged file");
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

StagedFile StagingArea::create() {
  std::string key = time_ordered_uuid();
  const auto path = path_of(key);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("create staged file");
  return StagedFile(*this, std::move(key), fd);
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

void StagingArea::sync_directory() {
  directory_sync_.sync();
}

}  // namespace teamreg::files
