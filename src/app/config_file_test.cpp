#include "app/config_file.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace teamreg::app {
namespace {

/// A small stand-in for `serve`: the same kinds of options (string, int, flag, checked).
struct Fixture {
  CLI::App cli{"test"};
  CLI::App* serve = cli.add_subcommand("serve");
  CLI::App* check = cli.add_subcommand("check");
  std::string listen = "127.0.0.1:8000";
  int min_players = 11;
  bool require_photo = false;
  std::string log_level = "info";
  std::string database;
  std::string cors = "*";

  Fixture() {
    for (CLI::App* command : {serve, check}) {
      command->add_option("--config")->envname("TEST_TEAMREG_CONFIG");
      command->add_option("--log-level", log_level)
          ->envname("TEST_TEAMREG_LOG_LEVEL")
          ->check(CLI::IsMember({"info", "warn"}))
          ->capture_default_str();
      command->add_option("--database", database)->envname("TEST_TEAMREG_DATABASE");
    }
    serve->add_option("--listen", listen)->envname("TEST_TEAMREG_LISTEN")->capture_default_str();
    serve->add_option("--min-players", min_players)
        ->envname("TEST_TEAMREG_MIN_PLAYERS")
        ->capture_default_str();
    serve->add_flag("--require-group-photo", require_photo);
    serve->add_option("--cors-origins", cors)->capture_default_str();
  }

  void parse(std::vector<std::string> args) {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    cli.parse(reversed);
  }
};

ConfigFile parsed(std::string_view text) {
  auto file = parse_config_file(text, "t.conf");
  EXPECT_TRUE(file.has_value()) << (file ? "" : file.error());
  return file ? *file : ConfigFile{};
}

TEST(ConfigFile, ConvertsValuesToFlagTextAndKeepsLines) {
  const ConfigFile file = parsed(
      "# comment\n"
      "listen = \"0.0.0.0:80\"\n"
      "min-players = 9\n"
      "\n"
      "require-group-photo = true\n"
      "cors-origins = [\"https://a.test\", \"https://b.test\"]\n");
  ASSERT_EQ(file.settings.size(), 4u);
  EXPECT_EQ(file.settings.at("listen").value, "0.0.0.0:80");
  EXPECT_EQ(file.settings.at("listen").line, 2u);
  EXPECT_EQ(file.settings.at("min-players").value, "9");
  EXPECT_EQ(file.settings.at("min-players").line, 3u);
  EXPECT_EQ(file.settings.at("require-group-photo").value, "true");
  EXPECT_EQ(file.settings.at("require-group-photo").line, 5u);
  EXPECT_EQ(file.settings.at("cors-origins").value, "https://a.test,https://b.test");
}

TEST(ConfigFile, SyntaxErrorNamesTheLine) {
  const auto file = parse_config_file("listen = \"a\"\nmin-players = = 3\n", "t.conf");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().rfind("t.conf:2: ", 0), 0u) << file.error();
}

TEST(ConfigFile, DuplicateKeyIsAnErrorOnItsLine) {
  const auto file = parse_config_file("listen = \"a\"\n\nlisten = \"b\"\n", "t.conf");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().rfind("t.conf:3: ", 0), 0u) << file.error();
}

TEST(ConfigFile, TableOrMixedArrayNamesKeyAndLine) {
  auto file = parse_config_file("listen = \"a\"\n[serve]\nx = 1\n", "t.conf");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error(), "t.conf:2: key \"serve\": expected a string, number or boolean");
  file = parse_config_file("cors-origins = [\"a\", 3]\n", "t.conf");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error(), "t.conf:1: key \"cors-origins\": expected an array of strings");
}

TEST(ConfigFile, MissingFileIsAnError) {
  const auto file = load_config_file("/nonexistent/teamreg.conf");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error(), "/nonexistent/teamreg.conf: cannot read the configuration file");
}

TEST(ConfigFile, FileSetsWhatNoFlagOrEnvSet) {
  Fixture f;
  f.parse({"serve"});
  const ConfigFile file = parsed(
      "listen = \"0.0.0.0:80\"\nmin-players = 9\nrequire-group-photo = true\n"
      "cors-origins = [\"https://a.test\", \"https://b.test\"]\n");
  EXPECT_EQ(apply_config_file(*f.serve, file, *f.serve), "");
  EXPECT_EQ(f.listen, "0.0.0.0:80");
  EXPECT_EQ(f.min_players, 9);
  EXPECT_TRUE(f.require_photo);
  EXPECT_EQ(f.cors, "https://a.test,https://b.test");
  EXPECT_EQ(f.log_level, "info");
}

TEST(ConfigFile, FalseFlagInFileStaysFalse) {
  Fixture f;
  f.parse({"serve"});
  EXPECT_EQ(apply_config_file(*f.serve, parsed("require-group-photo = false\n"), *f.serve), "");
  EXPECT_FALSE(f.require_photo);
}

TEST(ConfigFile, PrecedenceFlagThenEnvThenFileThenDefault) {
  Fixture f;
  ASSERT_EQ(setenv("TEST_TEAMREG_LISTEN", "10.0.0.1:1", 1), 0);
  ASSERT_EQ(setenv("TEST_TEAMREG_MIN_PLAYERS", "5", 1), 0);
  f.parse({"serve", "--min-players", "7"});
  const ConfigFile file =
      parsed("listen = \"0.0.0.0:80\"\nmin-players = 9\nlog-level = \"warn\"\n");
  EXPECT_EQ(apply_config_file(*f.serve, file, *f.serve), "");
  EXPECT_EQ(f.min_players, 7);        // flag over env and file
  EXPECT_EQ(f.listen, "10.0.0.1:1");  // env over file
  EXPECT_EQ(f.log_level, "warn");     // file over default

  const auto settings = effective_settings(*f.serve, file);
  auto find = [&](std::string_view key) {
    for (const auto& s : settings) {
      if (s.key == key) return s;
    }
    ADD_FAILURE() << "no setting " << key;
    return EffectiveSetting{};
  };
  EXPECT_EQ(find("min-players").source, Source::kFlag);
  EXPECT_EQ(find("min-players").value, "7");
  EXPECT_EQ(find("listen").source, Source::kEnv);
  EXPECT_EQ(find("listen").origin, "env TEST_TEAMREG_LISTEN");
  EXPECT_EQ(find("log-level").source, Source::kFile);
  EXPECT_EQ(find("log-level").origin, "file t.conf:3");
  EXPECT_EQ(find("log-level").value, "warn");
  EXPECT_EQ(find("cors-origins").source, Source::kDefault);
  EXPECT_EQ(find("cors-origins").value, "*");
  EXPECT_EQ(find("require-group-photo").value, "false");
  unsetenv("TEST_TEAMREG_LISTEN");
  unsetenv("TEST_TEAMREG_MIN_PLAYERS");
}

TEST(ConfigFile, UnknownKeyNamesKeyAndLine) {
  Fixture f;
  f.parse({"serve"});
  const ConfigFile file = parsed("listen = \"a:1\"\nmin-player = 9\nlisen = 3\n");
  EXPECT_EQ(apply_config_file(*f.serve, file, *f.serve),
            "t.conf:2: key \"min-player\": unknown key (keys are the serve flags without \"--\", "
            "e.g. listen, data-dir)");
}

TEST(ConfigFile, ConfigKeyIsUnknown) {
  Fixture f;
  f.parse({"serve"});
  EXPECT_NE(apply_config_file(*f.serve, parsed("config = \"x\"\n"), *f.serve)
                .find("key \"config\": unknown key"),
            std::string::npos);
}

TEST(ConfigFile, BadValueNamesKeyAndLine) {
  Fixture f;
  f.parse({"serve"});
  std::string problem =
      apply_config_file(*f.serve, parsed("listen = \"a:1\"\nmin-players = \"many\"\n"), *f.serve);
  EXPECT_EQ(problem.rfind("t.conf:2: key \"min-players\": invalid value \"many\": ", 0), 0u)
      << problem;
  Fixture g;
  g.parse({"serve"});
  problem = apply_config_file(*g.serve, parsed("\nlog-level = \"loud\"\n"), *g.serve);
  EXPECT_EQ(problem.rfind("t.conf:2: key \"log-level\": invalid value \"loud\": ", 0), 0u)
      << problem;
}

TEST(ConfigFile, KeysOfServeAreIgnoredByCheck) {
  Fixture f;
  f.parse({"check"});
  const ConfigFile file = parsed("listen = \"bad but unused\"\nlog-level = \"warn\"\n");
  EXPECT_EQ(apply_config_file(*f.check, file, *f.serve), "");
  EXPECT_EQ(f.log_level, "warn");
  EXPECT_EQ(f.listen, "127.0.0.1:8000");
}

TEST(ConfigFile, MasksPasswordsInUrls) {
  EXPECT_EQ(mask_secrets("postgresql://app:s3cret@db.internal:5432/teamreg"),
            "postgresql://app:****@db.internal:5432/teamreg");
  EXPECT_EQ(mask_secrets("postgresql://app@db/teamreg?password=s3cret&sslmode=require"),
            "postgresql://app@db/teamreg?password=****&sslmode=require");
  EXPECT_EQ(mask_secrets("host=db user=app password=s3cret dbname=t"),
            "host=db user=app password=**** dbname=t");
  EXPECT_EQ(mask_secrets("smtps://mailer:p@ss:w@smtp.test:465"),
            "smtps://mailer:****@smtp.test:465");
  EXPECT_EQ(mask_secrets("postgresql://app@db/teamreg"), "postgresql://app@db/teamreg");
  EXPECT_EQ(mask_secrets("./data/teamreg.db"), "./data/teamreg.db");
}

TEST(ConfigFile, ShowMasksDatabasePasswordAndEnvSecrets) {
  Fixture f;
  ASSERT_EQ(setenv("TEAMREG_ADMIN_TOKEN", "tok-123456", 1), 0);
  unsetenv("TEAMREG_SMTP_PASSWORD");
  f.parse({"serve", "--database", "postgresql://app:s3cret@db/t"});
  const std::string shown = format_effective(effective_settings(*f.serve, ConfigFile{}));
  unsetenv("TEAMREG_ADMIN_TOKEN");
  EXPECT_EQ(shown.find("s3cret"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("tok-123456"), std::string::npos) << shown;
  const std::size_t database = shown.find("database = \"postgresql://app:****@db/t\" ");
  ASSERT_NE(database, std::string::npos) << shown;
  const std::string line = shown.substr(database, shown.find('\n', database) - database);
  EXPECT_EQ(line.substr(line.size() - 8), "  # flag") << line;
  EXPECT_NE(shown.find("# TEAMREG_ADMIN_TOKEN: set (****)\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("# TEAMREG_SMTP_PASSWORD: not set\n"), std::string::npos) << shown;
}

}  // namespace
}  // namespace teamreg::app
