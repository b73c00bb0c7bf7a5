#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace teamreg::app {

/// One `key = value` of a --config file, as the text the flag would carry.
struct FileSetting {
  std::string value;
  std::uint32_t line = 0;
};

/// A --config TOML file (docs/operations.md#configuration-file): top-level keys named as the
/// `serve` flags without the leading "--".
struct ConfigFile {
  std::string path;
  std::map<std::string, FileSetting, std::less<>> settings;
};

/// Parses TOML text. A syntax error, a table, or a value that is not a string, integer, float,
/// boolean or array of strings is an error naming the key and the line. `path` is for messages.
tl::expected<ConfigFile, std::string> parse_config_file(std::string_view text,
                                                        const std::string& path);

/// Reads and parses the file at `path`.
tl::expected<ConfigFile, std::string> load_config_file(const std::string& path);

/// Sets, from `file`, each option of `command` that neither a flag nor its environment variable
/// set, through the option's own conversion and checks (precedence flag > env > file > default).
/// A key that names no option of `all_keys` (the `serve` command, whose options are a superset)
/// is an error; a key of `all_keys` that `command` lacks is ignored (`check` reads the same
/// file). Returns the problem, naming key and line, or empty.
std::string apply_config_file(CLI::App& command, const ConfigFile& file, const CLI::App& all_keys);

/// Stores again the values flags and environment gave `command` (a sibling subcommand's env
/// callback may have overwritten a shared variable); then, if `command` has a --config value
/// (flag or TEAMREG_CONFIG), loads that file and applies it.
/// `loaded` receives the file. Returns the problem or empty.
std::string apply_config_option(CLI::App& command, const CLI::App& all_keys, ConfigFile& loaded);

enum class Source { kDefault, kFile, kEnv, kFlag };

/// One option's effective value and where it came from, for `teamreg config show`.
struct EffectiveSetting {
  std::string key;
  std::string value;  ///< secrets already masked
  Source source = Source::kDefault;
  std::string origin;  ///< "flag", "env TEAMREG_X", "file PATH:LINE" or "default"
};

/// The effective value of each option of `command` (after parse and apply_config_file).
std::vector<EffectiveSetting> effective_settings(const CLI::App& command, const ConfigFile& file);

/// Prints the settings as a TOML file with the origin of each value in a comment, then whether
/// each environment-only secret is set (never its value).
std::string format_effective(const std::vector<EffectiveSetting>& settings);

/// Replaces the password of any `scheme://user:password@` and any `password=...` parameter with
/// "****", so a database or SMTP URL can be shown.
std::string mask_secrets(std::string_view value);

}  // namespace teamreg::app
