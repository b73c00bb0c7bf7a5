#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "storage/store.hpp"

namespace teamreg::backup {

inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr std::string_view kDatabaseName = "teamreg.db";
inline constexpr std::string_view kDocumentsDir = "documents";
inline constexpr int kFormatVersion = 1;

struct ManifestFile {
  std::string path;  ///< relative to the backup directory, '/'-separated
  std::uintmax_t size_bytes = 0;
  std::string sha256;  ///< lower-case hex
};

/// What `teamreg backup` wrote and `teamreg restore` trusts only after checking every file.
struct Manifest {
  int format = kFormatVersion;
  std::string teamreg_version;
  std::string created_at;  ///< ISO 8601 UTC, when the database snapshot was taken
  std::string backend;     ///< "sqlite" (database in the backup) or "postgresql" (pg_dump's)
  int schema_version = 0;
  std::int64_t teams = 0;
  std::vector<storage::SequenceState> sequences;
  std::vector<ManifestFile> files;
};

std::string to_json(const Manifest& manifest);
/// The manifest, or a message saying what is wrong with it.
tl::expected<Manifest, std::string> parse_manifest(std::string_view json);

/// Whether `path` may name a file inside a backup: relative, no "." or ".." component, no empty
/// component, either the database or documents/<one name>.
bool is_safe_path(std::string_view path);
/// A document's storage key as a path inside the backup.
std::string document_path(std::string_view key);

/// Checks every file of the manifest in `directory` against its size and SHA-256. One message per
/// problem, each naming the file; empty when every file is intact.
std::vector<std::string> verify_files(const std::filesystem::path& directory,
                                      const Manifest& manifest);

}  // namespace teamreg::backup
