#include "app/limits.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace teamreg::app {

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
}

std::size_t derived_upload_slots(std::uint64_t open_files, std::uint64_t max_staged_bytes,
                                 std::uint64_t max_file_bytes) {
  constexpr std::uint64_t kDescriptorsPerUpload = 3;
  const std::uint64_t by_descriptors =
      open_files > kReservedDescriptors
          ? (open_files - kReservedDescriptors) / kDescriptorsPerUpload
          : 1;
  const std::uint64_t by_staging = max_file_bytes > 0 ? max_staged_bytes / max_file_bytes : 1;
  const std::uint64_t slots =
      std::clamp<std::uint64_t>(std::min(by_descriptors, by_staging), 1, kMaxDerivedUploadSlots);
  return static_cast<std::size_t>(slots);
}

}  // namespace teamreg::app
