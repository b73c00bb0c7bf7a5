#pragma once

#include <filesystem>

#include "files/blob_store.hpp"

namespace teamreg::files {

/// Documents as files named by key in one directory (<data-dir>/documents).
class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(std::filesystem::path directory);

  void prepare() override;
  void promote(const std::filesystem::path& staged, std::string_view key) override;
  std::optional<std::filesystem::path> locate(std::string_view key) const override;
  bool writable() const override;

 private:
  std::filesystem::path directory_;
};

}  // namespace teamreg::files
