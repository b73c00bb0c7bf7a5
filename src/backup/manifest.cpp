#include "backup/manifest.hpp"

#include <boost/json.hpp>
#include <exception>

#include "backup/sha256.hpp"

namespace teamreg::backup {
namespace {

namespace json = boost::json;

bool is_hex_sha256(std::string_view text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string to_json(const Manifest& manifest) {
  json::array sequences;
  for (const auto& sequence : manifest.sequences) {
    sequences.push_back(json::object{{"name", sequence.name},
                                     {"prefix", sequence.format.prefix},
                                     {"min_width", sequence.format.min_width},
                                     {"last_number", sequence.last_number},
                                     {"highest_issued", sequence.highest_issued}});
  }
  json::array files;
  for (const auto& file : manifest.files) {
    files.push_back(json::object{{"path", file.path},
                                 {"size_bytes", static_cast<std::uint64_t>(file.size_bytes)},
                                 {"sha256", file.sha256}});
  }
  const json::object root{{"format", manifest.format},
                          {"teamreg_version", manifest.teamreg_version},
                          {"created_at", manifest.created_at},
                          {"backend", manifest.backend},
                          {"schema_version", manifest.schema_version},
                          {"teams", manifest.teams},
                          {"sequences", std::move(sequences)},
                          {"files", std::move(files)}};
  return json::serialize(root) + "\n";
}

tl::expected<Manifest, std::string> parse_manifest(std::string_view text) {
  try {
    const json::value parsed = json::parse(text);
    const json::object& root = parsed.as_object();
    Manifest manifest;
    manifest.format = json::value_to<int>(root.at("format"));
    if (manifest.format != kFormatVersion) {
      return tl::unexpected("manifest format " + std::to_string(manifest.format) +
                            " is not supported (this teamreg reads format " +
                            std::to_string(kFormatVersion) + ")");
    }
    manifest.teamreg_version = json::value_to<std::string>(root.at("teamreg_version"));
    manifest.created_at = json::value_to<std::string>(root.at("created_at"));
    manifest.backend = json::value_to<std::string>(root.at("backend"));
    if (manifest.backend != "sqlite" && manifest.backend != "postgresql") {
      return tl::unexpected("manifest names an unknown backend \"" + manifest.backend + "\"");
    }
    manifest.schema_version = json::value_to<int>(root.at("schema_version"));
    manifest.teams = json::value_to<std::int64_t>(root.at("teams"));
    for (const auto& item : root.at("sequences").as_array()) {
      const auto& object = item.as_object();
      storage::SequenceState sequence;
      sequence.name = json::value_to<std::string>(object.at("name"));
      sequence.format.prefix = json::value_to<std::string>(object.at("prefix"));
      sequence.format.min_width = json::value_to<int>(object.at("min_width"));
      sequence.last_number = json::value_to<std::int64_t>(object.at("last_number"));
      sequence.highest_issued = json::value_to<std::int64_t>(object.at("highest_issued"));
      manifest.sequences.push_back(std::move(sequence));
    }
    for (const auto& item : root.at("files").as_array()) {
      const auto& object = item.as_object();
      ManifestFile file;
      file.path = json::value_to<std::string>(object.at("path"));
      file.size_bytes = json::value_to<std::uint64_t>(object.at("size_bytes"));
      file.sha256 = json::value_to<std::string>(object.at("sha256"));
      if (!is_safe_path(file.path)) {
        return tl::unexpected("manifest lists a file outside the backup: \"" + file.path + "\"");
      }
      if (!is_hex_sha256(file.sha256)) {
        return tl::unexpected("manifest has a malformed sha256 for " + file.path);
      }
      manifest.files.push_back(std::move(file));
    }
    return manifest;
  } catch (const std::exception& e) {
    return tl::unexpected(std::string("manifest is not valid: ") + e.what());
  }
}

bool is_safe_path(std::string_view path) {
  if (path == kDatabaseName) return true;
  const std::string prefix = std::string(kDocumentsDir) + "/";
  if (!path.starts_with(prefix)) return false;
  const std::string_view name = path.substr(prefix.size());
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

std::string document_path(std::string_view key) {
  return std::string(kDocumentsDir) + "/" + std::string(key);
}

std::vector<std::string> verify_files(const std::filesystem::path& directory,
                                      const Manifest& manifest) {
  std::vector<std::string> problems;
  for (const auto& file : manifest.files) {
    const auto path = directory / file.path;
    FileDigest digest;
    try {
      digest = digest_file(path);
    } catch (const std::exception& e) {
      problems.push_back(file.path + ": missing or unreadable (" + e.what() + ")");
      continue;
    }
    if (digest.size_bytes != file.size_bytes) {
      problems.push_back(file.path + ": size " + std::to_string(digest.size_bytes) +
                         " bytes, manifest says " + std::to_string(file.size_bytes));
    } else if (digest.sha256 != file.sha256) {
      problems.push_back(file.path + ": SHA-256 " + digest.sha256 +
                         " does not match the manifest's " + file.sha256);
    }
  }
  return problems;
}

}  // namespace teamreg::backup
