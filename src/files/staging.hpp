#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <unordered_set>

#include "core/coalesced_sync.hpp"
#include "core/error.hpp"

namespace teamreg::files {

struct StagingConfig {
  std::filesystem::path directory;              ///< <data-dir>/staging
  std::uint64_t max_staged_bytes = 2ULL << 30;  ///< cap on bytes held in staging at once
};

class StagingArea;

/// The error a request gets when storing its documents fails: STORAGE_FULL for ENOSPC/EDQUOT,
/// SERVICE_UNAVAILABLE for anything else (EMFILE, ENFILE, EIO…). Both answer 503 + Retry-After;
/// the errno goes to the log detail only.
Error io_failure(int error_number, std::string_view what);

/// One upload being written to staging under a server-generated name. Deletes its file when
/// destroyed unless keep() was called: an abandoned upload leaves nothing behind.
class StagedFile final {
 public:
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;
  StagedFile(const StagedFile&) = delete;
  ~StagedFile();

  const std::string& key() const { return key_; }
  std::uint64_t size_bytes() const { return size_bytes_; }
  /// The first bytes of the file (up to kSniffBytes), for content sniffing.
  std::string_view head() const { return head_; }

  /// Appends bytes; kServiceUnavailable when the staging quota is exhausted, io_failure() when
  /// the write fails. Never throws.
  tl::expected<void, Error> write(std::string_view bytes);
  /// Closes the descriptor at the end of its part, so that a registration holds at most one open
  /// document at a time, however many it uploads. Does not make the bytes durable: see sync().
  void close();
  /// Makes the bytes durable (fsync through a fresh read-only descriptor: fsync flushes the file,
  /// not the descriptor). Blocking: call from a worker thread, never a network thread.
  tl::expected<void, Error> sync();
  /// The file now belongs to a (possibly committed) registration: do not delete it on destruction.
  void keep();

 private:
  friend class StagingArea;
  StagedFile(StagingArea& area, std::string key, int fd);

  StagingArea* area_;
  std::string key_;
  int fd_;
  std::uint64_t size_bytes_ = 0;
  std::string head_;
  bool kept_ = false;
  bool tracked_ = true;  ///< false once moved from: the moved-to object owns the key
};

/// The staging directory: where uploads land before the registration that owns them commits.
/// Tracks the bytes it holds so a flood of uploads cannot fill the disk.
class StagingArea final {
 public:
  explicit StagingArea(StagingConfig config);

  /// Creates the directory if missing; throws when it cannot be created or written.
  void prepare();
  /// A new, empty staged file; io_failure() when it cannot be created (no descriptors, no space).
  tl::expected<StagedFile, Error> create();
  std::filesystem::path path_of(std::string_view key) const;
  /// Removes a staged file (e.g. after a failed registration). Missing files are fine.
  void remove(std::string_view key);
  /// Forgets `bytes` from the quota once a staged file has left staging (promoted or deleted).
  void release(std::uint64_t bytes);
  std::uint64_t staged_bytes() const { return staged_bytes_.load(); }
  /// Staged files held by this process: uploads streaming or registrations not yet committed.
  std::size_t staged_files() const;
  const std::filesystem::path& directory() const { return config_.directory; }
  /// Makes the creation of every file staged before this call durable (fsync of the directory).
  /// Concurrent callers share one fsync: see CoalescedSync. Blocking; io_failure() on error.
  tl::expected<void, Error> sync_directory();
  /// True while a StagedFile of this process holds the key: an upload still streaming, or a
  /// registration not yet committed. The sweeper never touches such a file, whatever its age.
  bool in_use(std::string_view key) const;

 private:
  friend class StagedFile;
  bool reserve(std::uint64_t bytes);
  void forget(const std::string& key);

  StagingConfig config_;
  std::atomic<std::uint64_t> staged_bytes_{0};
  CoalescedSync directory_sync_;
  mutable std::mutex live_mutex_;
  std::unordered_set<std::string> live_;  ///< keys of StagedFile objects alive in this process
};

}  // namespace teamreg::files
