#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace teamreg::files {

/// Where committed documents live. Keys are server-generated UUIDs (never a team ID, never client
/// input), so an upload never waits for an ID. Local directory today; an object store later.
class BlobStore {
 public:
  virtual ~BlobStore() = default;
  /// Creates what the store needs; throws when the store is unusable.
  virtual void prepare() = 0;
  /// Moves a staged file (already durable) into the store under its key. Idempotent: promoting a
  /// key that is already stored is a no-op. A promotion lost in a crash is redone by the sweeper.
  virtual void promote(const std::filesystem::path& staged, std::string_view key) = 0;
  /// A readable local path for the key, if stored.
  virtual std::optional<std::filesystem::path> locate(std::string_view key) const = 0;
  /// True when the store can be written right now (for /ready and `teamreg check`).
  virtual bool writable() const = 0;
};

}  // namespace teamreg::files
