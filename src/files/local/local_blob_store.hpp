#pragma once

#include <filesystem>

#include "files/blob_store.hpp"

namespace teamreg::files {

/// Documents as files named by key in one directory (<data-dir>/documents), on the same file
/// system as staging: put() is a rename after the commit (PutTiming::kAfterCommit), and open()
/// also finds a committed document whose rename has not happened yet (or was lost in a crash
/// until the sweeper redoes it) in the staging directory.
class LocalBlobStore final : public BlobStore {
 public:
  LocalBlobStore(std::filesystem::path directory, std::filesystem::path staging_directory);

  void prepare() override;
  PutTiming put_timing() const override { return PutTiming::kAfterCommit; }
  void put(const std::filesystem::path& staged, std::string_view key) override;
  std::unique_ptr<BlobReader> open(std::string_view key) override;
  void remove(std::string_view key) override;
  std::vector<BlobEntry> list() override;
  std::optional<std::string> probe() override;

 private:
  std::filesystem::path directory_;
  std::filesystem::path staging_directory_;
};

}  // namespace teamreg::files
