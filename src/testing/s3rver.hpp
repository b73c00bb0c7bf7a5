#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace teamreg::testing {

/// A real S3-compatible server (tests/s3's pinned s3rver on Node.js) on a free loopback port with
/// one bucket, its data in a temp dir. The constructor throws when it does not come up within
/// 30 s (s3rver missing: run scripts/install-s3-deps.sh), so S3 tests fail, never skip. The
/// server is stopped when this object goes, and by the kernel if the test process dies.
class S3rver final {
 public:
  static constexpr const char* kAccessKey = "S3RVER";  ///< s3rver's built-in account
  static constexpr const char* kSecretKey = "S3RVER";

  explicit S3rver(std::string bucket = "contract");
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;
  ~S3rver();

  const std::string& bucket() const { return bucket_; }
  std::string endpoint() const;

 private:
  std::string bucket_;
  std::filesystem::path root_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace teamreg::testing
