#include "backup/backup.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "backup/sha256.hpp"
#include "core/uuid.hpp"
#include "files/local/local_blob_store.hpp"

namespace teamreg::backup {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Manifest sample_manifest() {
  Manifest manifest;
  manifest.teamreg_version = "0.1.0";
  manifest.created_at = "2026-12-02T01:00:00Z";
  manifest.backend = "sqlite";
  manifest.schema_version = 4;
  manifest.teams = 2;
  storage::SequenceState sequence;
  sequence.name = "team";
  sequence.format = {"ICCT", 3};
  sequence.last_number = 2;
  sequence.highest_issued = 2;
  manifest.sequences.push_back(sequence);
  manifest.files.push_back({"teamreg.db", 8192, std::string(64, 'a')});
  manifest.files.push_back({"documents/k1", 3, std::string(64, 'b')});
  return manifest;
}

/// A data directory and a backup directory under one temporary root, removed afterwards.
class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(data_ / "documents");
    fs::create_directories(data_ / "staging");
  }
  void TearDown() override { fs::remove_all(root_); }

  /// Puts a committed document into the live store, as the server does.
  void store_document(const std::string& key, std::string_view bytes) {
    const auto staged = data_ / "staging" / key;
    write_file(staged, bytes);
    blobs_.put(staged, key);
  }

  /// A source whose "database" is a fixed file naming these documents.
  BackupSource source(std::vector<std::string> keys) {
    BackupSource s;
    s.backend = "sqlite";
    s.teamreg_version = "test";
    s.blobs = &blobs_;
    s.snapshot = [keys = std::move(keys)](const fs::path& target) {
      write_file(target, "database bytes");
      storage::DatabaseContents contents;
      contents.schema_version = 4;
      contents.teams = static_cast<std::int64_t>(keys.size());
      storage::SequenceState sequence;
      sequence.name = "team";
      sequence.last_number = 7;
      sequence.highest_issued = 7;
      contents.sequences.push_back(sequence);
      contents.document_keys = keys;
      return contents;
    };
    return s;
  }

  RestoreTarget target(const fs::path& data_dir) {
    fs::create_directories(data_dir / "documents");
    restored_blobs_ =
        std::make_unique<files::LocalBlobStore>(data_dir / "documents", data_dir / "staging");
    RestoreTarget t;
    t.backend = "sqlite";
    t.database_path = data_dir / "teamreg.db";
    t.blobs = restored_blobs_.get();
    t.staging_directory = data_dir / "staging";
    return t;
  }

  static bool is_empty(const fs::path& directory) {
    return !fs::exists(directory) || fs::is_empty(directory);
  }

  fs::path root_ = fs::temp_directory_path() / ("teamreg-backup-" + random_uuid());
  fs::path data_ = root_ / "data";
  fs::path backup_ = root_ / "backup";
  files::LocalBlobStore blobs_{data_ / "documents", data_ / "staging"};
  std::unique_ptr<files::LocalBlobStore> restored_blobs_;
};

TEST(Sha256, KnownDigests) {
  Sha256 empty;
  EXPECT_EQ(empty.hex_digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.update("a");
  abc.update("bc");
  EXPECT_EQ(abc.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Manifest, RoundTripsThroughJson) {
  const Manifest manifest = sample_manifest();
  const auto parsed = parse_manifest(to_json(manifest));
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->teamreg_version, "0.1.0");
  EXPECT_EQ(parsed->created_at, "2026-12-02T01:00:00Z");
  EXPECT_EQ(parsed->backend, "sqlite");
  EXPECT_EQ(parsed->schema_version, 4);
  EXPECT_EQ(parsed->teams, 2);
  ASSERT_EQ(parsed->sequences.size(), 1U);
  EXPECT_EQ(parsed->sequences[0].name, "team");
  EXPECT_EQ(parsed->sequences[0].format.prefix, "ICCT");
  EXPECT_EQ(parsed->sequences[0].format.min_width, 3);
  EXPECT_EQ(parsed->sequences[0].last_number, 2);
  ASSERT_EQ(parsed->files.size(), 2U);
  EXPECT_EQ(parsed->files[1].path, "documents/k1");
  EXPECT_EQ(parsed->files[1].size_bytes, 3U);
  EXPECT_EQ(parsed->files[1].sha256, std::string(64, 'b'));
}

TEST(Manifest, RefusesWhatItCannotTrust) {
  auto with_file = [](std::string path, std::string sha) {
    Manifest manifest = sample_manifest();
    manifest.files.push_back({std::move(path), 1, std::move(sha)});
    return to_json(manifest);
  };
  const std::string good_sha(64, 'c');
  for (const char* path : {"../etc/passwd", "/etc/passwd", "documents/../teamreg.db",
                           "documents/a/b", "documents/", "documents/..", "other.db"}) {
    const auto parsed = parse_manifest(with_file(path, good_sha));
    ASSERT_FALSE(parsed) << path;
    EXPECT_NE(parsed.error().find("outside the backup"), std::string::npos) << parsed.error();
  }
  EXPECT_FALSE(parse_manifest(with_file("documents/x", "ABC")));
  EXPECT_FALSE(parse_manifest(with_file("documents/x", std::string(64, 'G'))));
  EXPECT_FALSE(parse_manifest("{}"));
  EXPECT_FALSE(parse_manifest("not json"));
  Manifest future = sample_manifest();
  future.format = 2;
  const auto parsed = parse_manifest(to_json(future));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().find("format 2 is not supported"), std::string::npos);
}

TEST_F(BackupTest, VerifyNamesEachDamagedFile) {
  fs::create_directories(backup_ / "documents");
  write_file(backup_ / "documents" / "good", "same");
  write_file(backup_ / "documents" / "changed", "abcd");
  write_file(backup_ / "documents" / "longer", "abcde");
  Manifest manifest;
  const FileDigest same = digest_file(backup_ / "documents" / "good");
  manifest.files.push_back({"documents/good", same.size_bytes, same.sha256});
  manifest.files.push_back({"documents/changed", 4, same.sha256});
  manifest.files.push_back({"documents/longer", 4, same.sha256});
  manifest.files.push_back({"documents/gone", 4, same.sha256});
  const auto problems = verify_files(backup_, manifest);
  ASSERT_EQ(problems.size(), 3U);
  EXPECT_EQ(problems[0].rfind("documents/changed: SHA-256 ", 0), 0U) << problems[0];
  EXPECT_EQ(problems[1], "documents/longer: size 5 bytes, manifest says 4");
  EXPECT_EQ(problems[2].rfind("documents/gone: missing or unreadable", 0), 0U) << problems[2];
}

TEST_F(BackupTest, BacksUpTheSnapshotsDocumentsAndRestoresThemByteForByte) {
  store_document("k1", "first document");
  store_document("k2", std::string(200000, 'x'));
  // Committed, but its rename out of staging has not happened yet: found there.
  write_file(data_ / "staging" / "k3", "still staged");
  // An upload whose registration is not in the snapshot: left out.
  store_document("later", "after the snapshot");

  const auto manifest = write_backup(backup_, source({"k1", "k2", "k3"}));
  ASSERT_TRUE(manifest) << manifest.error();
  EXPECT_EQ(manifest->files.size(), 4U);
  EXPECT_EQ(manifest->sequences.at(0).last_number, 7);
  EXPECT_TRUE(fs::exists(backup_ / "manifest.json"));
  EXPECT_FALSE(fs::exists(backup_ / "documents" / "later"));
  EXPECT_TRUE(verify_files(backup_, *manifest).empty());

  const fs::path restored = root_ / "restored";
  const auto back = restore_backup(backup_, target(restored));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(read_file(restored / "teamreg.db"), "database bytes");
  EXPECT_EQ(read_file(restored / "documents" / "k1"), "first document");
  EXPECT_EQ(read_file(restored / "documents" / "k2"), std::string(200000, 'x'));
  EXPECT_EQ(read_file(restored / "documents" / "k3"), "still staged");
  EXPECT_FALSE(fs::exists(restored / "documents" / "later"));
  EXPECT_TRUE(is_empty(restored / "staging"));
}

TEST_F(BackupTest, RefusesANonEmptyBackupDirectory) {
  fs::create_directories(backup_);
  write_file(backup_ / "something", "x");
  const auto manifest = write_backup(backup_, source({}));
  ASSERT_FALSE(manifest);
  EXPECT_NE(manifest.error().find("is not empty"), std::string::npos) << manifest.error();
}

TEST_F(BackupTest, AMissingDocumentFailsTheBackupAndWritesNoManifest) {
  store_document("k1", "present");
  const auto manifest = write_backup(backup_, source({"k1", "gone"}));
  ASSERT_FALSE(manifest);
  EXPECT_NE(manifest.error().find("gone"), std::string::npos) << manifest.error();
  EXPECT_FALSE(fs::exists(backup_ / "manifest.json"));
  const auto back = restore_backup(backup_, target(root_ / "restored"));
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().find("no manifest.json"), std::string::npos) << back.error();
}

TEST_F(BackupTest, ATamperedFileRefusesTheRestoreAndWritesNothing) {
  store_document("k1", "first document");
  store_document("k2", "second document");
  ASSERT_TRUE(write_backup(backup_, source({"k1", "k2"})));
  write_file(backup_ / "documents" / "k2", "second documenT");

  const fs::path restored = root_ / "restored";
  const auto back = restore_backup(backup_, target(restored));
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().find("nothing was written"), std::string::npos) << back.error();
  EXPECT_NE(back.error().find("documents/k2: SHA-256"), std::string::npos) << back.error();
  EXPECT_EQ(back.error().find("documents/k1"), std::string::npos) << back.error();
  EXPECT_FALSE(fs::exists(restored / "teamreg.db"));
  EXPECT_TRUE(is_empty(restored / "documents"));
  EXPECT_TRUE(is_empty(restored / "staging"));
}

TEST_F(BackupTest, RefusesATargetThatHoldsADatabaseOrDocuments) {
  store_document("k1", "first document");
  ASSERT_TRUE(write_backup(backup_, source({"k1"})));

  const fs::path with_database = root_ / "with-database";
  auto first = target(with_database);
  write_file(with_database / "teamreg.db", "existing");
  const auto refused = restore_backup(backup_, first);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("already exists"), std::string::npos) << refused.error();
  EXPECT_EQ(read_file(with_database / "teamreg.db"), "existing");
  EXPECT_TRUE(is_empty(with_database / "documents"));

  const fs::path with_documents = root_ / "with-documents";
  auto second = target(with_documents);
  write_file(with_documents / "documents" / "other", "existing");
  const auto also_refused = restore_backup(backup_, second);
  ASSERT_FALSE(also_refused);
  EXPECT_NE(also_refused.error().find("already holds documents"), std::string::npos)
      << also_refused.error();
  EXPECT_FALSE(fs::exists(with_documents / "teamreg.db"));
}

TEST_F(BackupTest, RefusesABackupOfTheOtherBackend) {
  ASSERT_TRUE(write_backup(backup_, source({})));
  auto pg = target(root_ / "restored");
  pg.backend = "postgresql";
  pg.database_path.clear();
  const auto refused = restore_backup(backup_, pg);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("backup is of a sqlite database"), std::string::npos)
      << refused.error();
}

}  // namespace
}  // namespace teamreg::backup
