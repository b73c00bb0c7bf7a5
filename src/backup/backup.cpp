#include "backup/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "backup/sha256.hpp"
#include "core/clock.hpp"
#include "core/uuid.hpp"

namespace teamreg::backup {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void throw_errno(const std::string& what, int error_number) {
  throw std::runtime_error(what + ": " + std::strerror(error_number));
}

/// A file being written that is fsynced by finish() and deleted unless finished.
class OutputFile final {
 public:
  explicit OutputFile(fs::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd_ < 0) throw_errno("cannot create " + path_.string(), errno);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!finished_) ::unlink(path_.c_str());
  }

  void write(std::string_view bytes) {
    hasher_.update(bytes);
    digest_.size_bytes += bytes.size();
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("cannot write " + path_.string(), errno);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  FileDigest finish() {
    if (::fsync(fd_) != 0) throw_errno("cannot fsync " + path_.string(), errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw_errno("cannot close " + path_.string(), errno);
    finished_ = true;
    digest_.sha256 = hasher_.hex_digest();
    return digest_;
  }

 private:
  fs::path path_;
  int fd_ = -1;
  bool finished_ = false;
  Sha256 hasher_;
  FileDigest digest_;
};

void fsync_directory(const fs::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open " + directory.string(), errno);
  const int rc = ::fsync(fd);
  const int error_number = errno;
  ::close(fd);
  if (rc != 0) throw_errno("cannot fsync " + directory.string(), error_number);
}

/// Copies `from` to `to` (created), checking on the way that the bytes are still the ones the
/// manifest describes: the backup could change between verification and copy.
void copy_checked(const fs::path& from, const fs::path& to, const ManifestFile& expected) {
  OutputFile out(to);
  read_in_chunks(from, [&](std::string_view bytes) { out.write(bytes); });
  const FileDigest digest = out.finish();
  if (digest.sha256 != expected.sha256 || digest.size_bytes != expected.size_bytes) {
    ::unlink(to.c_str());
    throw std::runtime_error(expected.path + " changed while it was being restored");
  }
}

bool is_empty_or_missing(const fs::path& directory) {
  std::error_code ec;
  if (!fs::exists(directory, ec)) return true;
  return fs::is_directory(directory, ec) && fs::is_empty(directory, ec);
}

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

tl::expected<Manifest, std::string> write_backup(const fs::path& directory,
                                                 const BackupSource& source) {
  if (!is_empty_or_missing(directory)) {
    return tl::unexpected("backup refused: " + directory.string() +
                          " is not empty (give a new or empty directory)");
  }
  fs::create_directories(directory / kDocumentsDir);

  Manifest manifest;
  manifest.teamreg_version = source.teamreg_version;
  manifest.backend = source.backend;
  manifest.created_at = now_iso8601();
  const fs::path database = directory / kDatabaseName;
  const storage::DatabaseContents contents = source.snapshot(database);
  manifest.schema_version = contents.schema_version;
  manifest.teams = contents.teams;
  manifest.sequences = contents.sequences;
  if (source.writes_database) {
    const FileDigest digest = digest_file(database);
    manifest.files.push_back(
        ManifestFile{std::string(kDatabaseName), digest.size_bytes, digest.sha256});
  }

  // After the snapshot: every document it references is committed, so the store has it for good.
  std::vector<std::string> missing;
  const std::vector<std::string> no_keys;
  for (const auto& key : source.blobs != nullptr ? contents.document_keys : no_keys) {
    const std::string path = document_path(key);
    if (!is_safe_path(path)) {
      return tl::unexpected(
          "backup failed: the database references a document with an unusable "
          "storage key \"" +
          key + "\"");
    }
    auto reader = source.blobs->open(key);
    if (reader == nullptr) {
      missing.push_back(key);
      continue;
    }
    OutputFile out(directory / path);
    for (std::string_view piece = reader->next(); !piece.empty(); piece = reader->next()) {
      out.write(piece);
    }
    const FileDigest digest = out.finish();
    manifest.files.push_back(ManifestFile{path, digest.size_bytes, digest.sha256});
  }
  if (!missing.empty()) {
    std::string message = "backup failed: " + std::to_string(missing.size()) +
                          " document(s) referenced by teams are not in the document store:";
    for (const auto& key : missing) message += " " + key;
    return tl::unexpected(message + " (no manifest written: " + directory.string() +
                          " is not a usable backup)");
  }
  fsync_directory(directory / kDocumentsDir);

  const fs::path staged_manifest = directory / (std::string(kManifestName) + ".tmp");
  {
    OutputFile out(staged_manifest);
    out.write(to_json(manifest));
    out.finish();
  }
  fs::rename(staged_manifest, directory / kManifestName);
  fsync_directory(directory);
  return manifest;
}

tl::expected<Manifest, std::string> restore_backup(const fs::path& directory,
                                                   const RestoreTarget& target) {
  const fs::path manifest_path = directory / kManifestName;
  std::error_code ec;
  if (!fs::is_regular_file(manifest_path, ec)) {
    return tl::unexpected("restore refused: no " + std::string(kManifestName) + " in " +
                          directory.string() + " (not a teamreg backup, or an unfinished one)");
  }
  auto manifest = parse_manifest(read_whole(manifest_path));
  if (!manifest) return tl::unexpected("restore refused: " + manifest.error());
  if (manifest->backend != target.backend) {
    return tl::unexpected("restore refused: the backup is of a " + manifest->backend +
                          " database, the target is " + target.backend);
  }
  std::set<std::string> seen;
  bool has_database = false;
  for (const auto& file : manifest->files) {
    if (!seen.insert(file.path).second) {
      return tl::unexpected("restore refused: the manifest lists " + file.path + " twice");
    }
    has_database = has_database || file.path == kDatabaseName;
  }
  if (target.backend == "sqlite" && !has_database) {
    return tl::unexpected("restore refused: the manifest lists no " + std::string(kDatabaseName));
  }

  if (!target.database_path.empty() && fs::exists(target.database_path, ec)) {
    return tl::unexpected("restore refused: " + target.database_path.string() +
                          " already exists (restore only into a new, empty data directory)");
  }
  const bool has_documents = seen.size() > (has_database ? 1U : 0U);
  if (target.blobs == nullptr && has_documents) {
    return tl::unexpected(
        std::string("restore refused: the backup holds documents but the target keeps "
                    "its documents in an object store (restore them with the store's tools)"));
  }
  if (target.blobs != nullptr && !target.blobs->list().empty()) {
    return tl::unexpected(
        std::string("restore refused: the document store already holds documents "
                    "(restore only into a new, empty data directory)"));
  }

  if (auto problems = verify_files(directory, *manifest); !problems.empty()) {
    std::string message =
        "restore refused, nothing was written: " + std::to_string(problems.size()) +
        " file(s) do not match the manifest:";
    for (const auto& problem : problems) message += "\n  " + problem;
    return tl::unexpected(message);
  }

  if (has_documents) fs::create_directories(target.staging_directory);
  for (const auto& file : manifest->files) {
    if (file.path == kDatabaseName) continue;
    const std::string key = file.path.substr(kDocumentsDir.size() + 1);
    const fs::path staged = target.staging_directory / ("restore-" + random_uuid());
    copy_checked(directory / file.path, staged, file);
    target.blobs->put(staged, key);
  }
  if (!target.database_path.empty()) {
    const fs::path parent =
        target.database_path.has_parent_path() ? target.database_path.parent_path() : fs::path(".");
    fs::create_directories(parent);
    const fs::path staged = parent / (target.database_path.filename().string() + ".restoring");
    std::string name(kDatabaseName);
    const auto found = std::find_if(manifest->files.begin(), manifest->files.end(),
                                    [&](const ManifestFile& f) { return f.path == name; });
    copy_checked(directory / kDatabaseName, staged, *found);
    fs::rename(staged, target.database_path);
    fsync_directory(parent);
  }
  return manifest;
}

storage::DatabaseContents read_live_contents(storage::Store& store,
                                             const std::string& sequence_name) {
  storage::DatabaseContents contents;
  contents.schema_version = store.schema_version();
  contents.sequences.push_back(store.sequence(sequence_name));
  constexpr int kPage = 200;
  for (int offset = 0;; offset += kPage) {
    const storage::TeamPage page = store.list_teams(kPage, offset);
    contents.teams = page.total;
    for (const auto& summary : page.teams) {
      if (auto team = store.find_team(summary.team_id)) {
        for (const auto& document : team->documents) {
          contents.document_keys.push_back(document.storage_key);
        }
      }
    }
    if (page.teams.size() < static_cast<std::size_t>(kPage)) break;
  }
  return contents;
}

}  // namespace teamreg::backup
