#include "files/sweeper.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "core/uuid.hpp"
#include "files/local/local_blob_store.hpp"

namespace teamreg::files {
namespace {

namespace fs = std::filesystem;

/// A local store whose put() of chosen keys fails, like a full or broken documents directory.
class FlakyBlobStore final : public BlobStore {
 public:
  FlakyBlobStore(fs::path directory, fs::path staging, std::set<std::string> failing)
      : inner_(std::move(directory), std::move(staging)), failing_(std::move(failing)) {}
  void prepare() override { inner_.prepare(); }
  PutTiming put_timing() const override { return inner_.put_timing(); }
  void put(const fs::path& staged, std::string_view key) override {
    if (failing_.contains(std::string(key))) {
      throw BlobError(BlobError::Kind::kUnavailable, "promotion failed");
    }
    inner_.put(staged, key);
  }
  std::unique_ptr<BlobReader> open(std::string_view key) override { return inner_.open(key); }
  void remove(std::string_view key) override { inner_.remove(key); }
  std::vector<BlobEntry> list() override { return inner_.list(); }
  std::optional<std::string> probe() override { return std::nullopt; }

 private:
  LocalBlobStore inner_;
  std::set<std::string> failing_;
};

class SweeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("teamreg-sweeper-" + random_uuid());
    staging_.emplace(StagingConfig{root_ / "staging", 1ULL << 30});
    staging_->prepare();
  }
  void TearDown() override { fs::remove_all(root_); }

  /// A staged file left behind (as after a crash): on disk, owned by no upload, `age` old.
  std::string leftover(std::chrono::seconds age) {
    const std::string key = time_ordered_uuid();
    std::ofstream(staging_->path_of(key)) << "%PDF-1.4 left behind";
    fs::last_write_time(staging_->path_of(key), fs::file_time_type::clock::now() - age);
    return key;
  }

  fs::path root_;
  std::optional<StagingArea> staging_;
};

TEST_F(SweeperTest, OneFailingPromotionDoesNotStopTheOthers) {
  const std::string failing = leftover(std::chrono::seconds(5));
  const std::string fine = leftover(std::chrono::seconds(5));
  const std::string orphan = leftover(std::chrono::hours(2));
  FlakyBlobStore blobs(root_ / "documents", root_ / "staging", {failing});
  blobs.prepare();
  const ReferencedKeys referenced = [&](std::span<const std::string>) {
    return std::vector<std::string>{failing, fine};
  };
  const SweepResult result = sweep_staging(*staging_, blobs, referenced, std::chrono::hours(1));
  EXPECT_EQ(result.promoted, 1U);
  EXPECT_EQ(result.failed, 1U);
  EXPECT_EQ(result.deleted, 1U);
  EXPECT_TRUE(fs::exists(root_ / "documents" / fine));
  EXPECT_TRUE(fs::exists(staging_->path_of(failing)));  // kept for the next sweep
  EXPECT_FALSE(fs::exists(staging_->path_of(orphan)));
}

TEST_F(SweeperTest, NeverTouchesAFileAnUploadStillHolds) {
  LocalBlobStore blobs(root_ / "documents", root_ / "staging");
  blobs.prepare();
  const ReferencedKeys nobody = [](std::span<const std::string>) {
    return std::vector<std::string>{};
  };
  std::string key;
  {
    auto in_flight = staging_->create();
    ASSERT_TRUE(in_flight.has_value());
    ASSERT_TRUE(in_flight->write("%PDF-1.4 still arriving").has_value());
    in_flight->close();
    key = in_flight->key();
    // Older than any TTL and referenced by nobody: only the in-flight tracking can save it.
    fs::last_write_time(staging_->path_of(key),
                        fs::file_time_type::clock::now() - std::chrono::hours(3));
    const SweepResult result = sweep_staging(*staging_, blobs, nobody, std::chrono::seconds(0));
    EXPECT_EQ(result.deleted, 0U);
    EXPECT_TRUE(fs::exists(staging_->path_of(key)));
    EXPECT_TRUE(staging_->in_use(key));
    in_flight->keep();  // e.g. an ambiguous commit: the sweeper decides later
  }
  // The upload ended: its file is now the sweeper's to judge.
  EXPECT_FALSE(staging_->in_use(key));
  EXPECT_EQ(sweep_staging(*staging_, blobs, nobody, std::chrono::seconds(0)).deleted, 1U);
}

TEST_F(SweeperTest, StagedFileIsClosedAndSyncedThroughAFreshDescriptor) {
  auto file = staging_->create();
  ASSERT_TRUE(file.has_value());
  ASSERT_TRUE(file->write("%PDF-1.4 body").has_value());
  file->close();
  EXPECT_FALSE(file->write("more").has_value());  // closed at the end of its part
  EXPECT_TRUE(file->sync().has_value());
  EXPECT_EQ(fs::file_size(staging_->path_of(file->key())), 13U);
}

TEST(IoFailure, NamesNoSpaceAsStorageFullAndEverythingElseAsUnavailable) {
  EXPECT_EQ(io_failure(ENOSPC, "write").code, ErrorCode::kStorageFull);
  EXPECT_EQ(io_failure(EDQUOT, "write").code, ErrorCode::kStorageFull);
  for (const int error_number : {EMFILE, ENFILE, EIO}) {
    const Error error = io_failure(error_number, "create staged file");
    EXPECT_EQ(error.code, ErrorCode::kServiceUnavailable);
    EXPECT_NE(error.log_detail.find("errno=" + std::to_string(error_number)), std::string::npos);
    EXPECT_EQ(error.message.find("errno"), std::string::npos);  // the client sees no internals
  }
}

}  // namespace
}  // namespace teamreg::files
