#pragma once

#include <cstddef>
#include <cstdint>

namespace teamreg::app {

/// Most upload slots ever derived: the commit queue and the worker pool's queue hold at least as
/// many, so an admitted upload is never refused further in.
inline constexpr std::size_t kMaxDerivedUploadSlots = 1024;
/// Descriptors kept for everything that is not an upload: the listener, database connections and
/// their files, logs, and connections that are not uploading.
inline constexpr std::uint64_t kReservedDescriptors = 128;

/// Raises the soft open-file limit to the hard limit (a rush needs a descriptor per connection
/// and per document being written, and the usual soft limit of 1024 is often far below the hard
/// one). Returns the soft limit now in force; failures leave it as it was.
std::uint64_t raise_open_file_limit();

/// Upload slots that fit the process's resources. Each upload in flight holds its connection's
/// socket, one staged document at a time, and briefly one more descriptor to fsync it; and each
/// may hold a full-size document in the staging quota. At least 1, at most
/// kMaxDerivedUploadSlots.
std::size_t derived_upload_slots(std::uint64_t open_files, std::uint64_t max_staged_bytes,
                                 std::uint64_t max_file_bytes);

}  // namespace teamreg::app
