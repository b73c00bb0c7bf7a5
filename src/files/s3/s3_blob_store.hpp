#pragma once

#include <memory>

#include "files/blob_store.hpp"
#include "files/s3/s3_client.hpp"

namespace teamreg::files {

/// Documents as objects `<prefix>/documents/<key>` in an S3-compatible bucket. put() runs before
/// the commit (PutTiming::kBeforeCommit) and sends the staged file with its SHA-256 signed, so
/// the store refuses bytes that changed on the way. Reads are ranged GETs of a bounded size.
class S3BlobStore final : public BlobStore {
 public:
  explicit S3BlobStore(S3Config config);

  /// Probes the bucket; throws with the probe's explanation when it is not usable.
  void prepare() override;
  PutTiming put_timing() const override { return PutTiming::kBeforeCommit; }
  void put(const std::filesystem::path& staged, std::string_view key) override;
  std::unique_ptr<BlobReader> open(std::string_view key) override;
  void remove(std::string_view key) override;
  std::vector<BlobEntry> list() override;
  /// Puts, reads back and deletes a small probe object.
  std::optional<std::string> probe() override;

  /// "s3://bucket/prefix", for logs.
  std::string location() const;

 private:
  S3Client client_;
};

}  // namespace teamreg::files
