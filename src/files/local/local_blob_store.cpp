#include "files/local/local_blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace teamreg::files {
namespace {

constexpr std::size_t kReadChunkBytes = 64 * 1024;

BlobError io_error(std::string_view what, int error_number) {
  return BlobError(BlobError::Kind::kUnavailable,
                   std::string(what) + ": " + std::strerror(error_number));
}

class FileReader final : public BlobReader {
 public:
  FileReader(int fd, std::uint64_t size_bytes) : fd_(fd), size_bytes_(size_bytes) {}
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader() override { ::close(fd_); }

  std::uint64_t size_bytes() const override { return size_bytes_; }

  std::string_view next() override {
    for (;;) {
      const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
      if (n >= 0) return {buffer_.data(), static_cast<std::size_t>(n)};
      if (errno != EINTR) throw io_error("read document", errno);
    }
  }

 private:
  int fd_;
  std::uint64_t size_bytes_;
  std::array<char, kReadChunkBytes> buffer_{};
};

/// The open file, or -1 when there is none at `path`.
int open_existing(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) throw io_error("open document", errno);
  return fd;
}

}  // namespace

LocalBlobStore::LocalBlobStore(std::filesystem::path directory,
                               std::filesystem::path staging_directory)
    : directory_(std::move(directory)), staging_directory_(std::move(staging_directory)) {}

void LocalBlobStore::prepare() {
  std::filesystem::create_directories(directory_);
  if (auto problem = probe()) throw std::runtime_error(*problem);
}

void LocalBlobStore::put(const std::filesystem::path& staged, std::string_view key) {
  const auto target = directory_ / std::string(key);
  std::error_code ec;
  std::filesystem::rename(staged, target, ec);
  if (ec) {
    // Already moved (a retry after a crash between rename and bookkeeping) is success.
    if (std::filesystem::exists(target)) return;
    throw BlobError(BlobError::Kind::kUnavailable, "move staged document: " + ec.message());
  }
  // No directory fsync: if a crash loses the rename, the file is still in staging, where open()
  // looks too, and the sweeper moves it again because a team references it.
}

std::unique_ptr<BlobReader> LocalBlobStore::open(std::string_view key) {
  // Staging between two looks at the directory: the rename may happen between any two of them.
  int fd = open_existing(directory_ / std::string(key));
  if (fd < 0) fd = open_existing(staging_directory_ / std::string(key));
  if (fd < 0) fd = open_existing(directory_ / std::string(key));
  if (fd < 0) return nullptr;
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    const int error_number = errno;
    ::close(fd);
    throw io_error("stat document", error_number);
  }
  if (!S_ISREG(status.st_mode)) {
    ::close(fd);
    return nullptr;
  }
  return std::make_unique<FileReader>(fd, static_cast<std::uint64_t>(status.st_size));
}

void LocalBlobStore::remove(std::string_view key) {
  if (::unlink((directory_ / std::string(key)).c_str()) != 0 && errno != ENOENT) {
    throw io_error("delete document", errno);
  }
}

std::vector<BlobEntry> LocalBlobStore::list() {
  std::vector<BlobEntry> entries;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
    std::error_code entry_ec;
    if (!entry.is_regular_file(entry_ec)) continue;
    const auto modified = entry.last_write_time(entry_ec);
    if (entry_ec) continue;
    entries.push_back(BlobEntry{entry.path().filename().string(),
                                std::chrono::time_point_cast<std::chrono::system_clock::duration>(
                                    std::chrono::file_clock::to_sys(modified))});
  }
  if (ec) throw BlobError(BlobError::Kind::kUnavailable, "list documents: " + ec.message());
  return entries;
}

std::optional<std::string> LocalBlobStore::probe() {
  if (::access(directory_.c_str(), W_OK | X_OK) == 0) return std::nullopt;
  return "document storage is not writable: check the permissions of " + directory_.string();
}

}  // namespace teamreg::files
