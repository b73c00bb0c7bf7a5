#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace teamreg::files {

/// A store operation that failed. kUnavailable (unreachable, timed out, 5xx after retries, a full
/// or failing disk) is worth retrying later; kRefused (wrong credentials, no such bucket, access
/// denied) needs an operator. what() is safe to log: never a credential, never document bytes.
class BlobError final : public std::runtime_error {
 public:
  enum class Kind { kUnavailable, kRefused };
  BlobError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

/// A stored document being read piece by piece, so that no document is ever held whole in memory.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual std::uint64_t size_bytes() const = 0;
  /// The next piece (valid until the next call); empty only at the end. Blocking: call from a
  /// worker thread. Throws BlobError.
  virtual std::string_view next() = 0;
};

struct BlobEntry {
  std::string key;
  std::chrono::system_clock::time_point modified;
};

/// When put() runs relative to the commit that references the key.
enum class PutTiming {
  /// A local directory beside staging: the staged file is already durable on that disk, so put()
  /// (a rename) follows the commit and a committed-but-unmoved file is still readable in staging.
  kAfterCommit,
  /// A remote store: the 201 promises the document is there, so put() precedes the commit, and a
  /// put whose registration never commits is an orphan the store sweep deletes after the TTL.
  kBeforeCommit,
};

/// Where committed documents live. Keys are server-generated UUIDs (never a team ID, never client
/// input), so an upload never waits for an ID. Streams only: no local path leaves the store.
/// Every method is thread-safe.
class BlobStore {
 public:
  virtual ~BlobStore() = default;
  /// Creates what the store needs; throws when the store is unusable.
  virtual void prepare() = 0;
  virtual PutTiming put_timing() const = 0;
  /// Stores the bytes of a staged (already fsynced) file under `key`, durable when this returns.
  /// The staged file may be gone afterwards (a local store renames it). Idempotent: putting a key
  /// again with the same bytes is a success. Throws BlobError.
  virtual void put(const std::filesystem::path& staged, std::string_view key) = 0;
  /// A reader for the key, or nullptr when nothing is stored under it. Throws BlobError.
  virtual std::unique_ptr<BlobReader> open(std::string_view key) = 0;
  /// Deletes the key; a missing key is a success. Throws BlobError.
  virtual void remove(std::string_view key) = 0;
  /// Every key in the store with its last-modified time, in no particular order. Throws BlobError.
  virtual std::vector<BlobEntry> list() = 0;
  /// Whether the store can be written right now (for `teamreg check` and /ready): nothing, or an
  /// operator-facing explanation. May do I/O (a remote store puts, gets and deletes a probe).
  virtual std::optional<std::string> probe() = 0;
};

}  // namespace teamreg::files
