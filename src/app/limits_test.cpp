#include "app/limits.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

namespace teamreg::app {
namespace {

constexpr std::uint64_t kMiB = 1ULL << 20;

TEST(DerivedUploadSlots, FollowTheOpenFileLimit) {
  // (1024 - 128) / 3: every slot's socket, staged file and fsync descriptor fit beside the reserve.
  EXPECT_EQ(derived_upload_slots(1024, 2048 * kMiB, 5 * kMiB), 298U);
  EXPECT_EQ(derived_upload_slots(256, 2048 * kMiB, 5 * kMiB), 42U);
}

TEST(DerivedUploadSlots, FollowTheStagingQuota) {
  // 2 GiB of staging holds 409 full-size (5 MiB) documents.
  EXPECT_EQ(derived_upload_slots(1'048'576, 2048 * kMiB, 5 * kMiB), 409U);
  EXPECT_EQ(derived_upload_slots(1'048'576, 100 * kMiB, 5 * kMiB), 20U);
}

TEST(DerivedUploadSlots, StayWithinBounds) {
  EXPECT_EQ(derived_upload_slots(64, 2048 * kMiB, 5 * kMiB), 1U);
  EXPECT_EQ(derived_upload_slots(1024, 1 * kMiB, 5 * kMiB), 1U);
  EXPECT_EQ(derived_upload_slots(UINT64_MAX, UINT64_MAX, 1), kMaxDerivedUploadSlots);
}

TEST(RaiseOpenFileLimit, SoftLimitReachesTheHardLimit) {
  rlimit lowered{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lowered), 0);
  const rlimit original = lowered;
  lowered.rlim_cur = std::min<rlim_t>(lowered.rlim_max, 64);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const std::uint64_t limit = raise_open_file_limit();
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, now.rlim_max);
  EXPECT_EQ(limit, static_cast<std::uint64_t>(now.rlim_cur));
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &original), 0);
}

}  // namespace
}  // namespace teamreg::app
