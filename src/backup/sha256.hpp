#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace teamreg::backup {

/// SHA-256 over bytes given piece by piece (OpenSSL EVP), so that no file is held whole in memory.
class Sha256 final {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  void update(std::string_view bytes);
  /// Lower-case hex of the digest; the hasher is spent afterwards.
  std::string hex_digest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

/// The SHA-256 (lower-case hex) and size of a file; throws std::runtime_error when unreadable.
struct FileDigest {
  std::string sha256;
  std::uintmax_t size_bytes = 0;
};
FileDigest digest_file(const std::filesystem::path& path);

/// Calls `chunk` with the file's bytes, 64 KiB at a time; throws std::runtime_error when
/// unreadable.
void read_in_chunks(const std::filesystem::path& path,
                    const std::function<void(std::string_view)>& chunk);

}  // namespace teamreg::backup
