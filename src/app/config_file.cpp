#include "app/config_file.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace teamreg::app {
namespace {

/// Environment-only secrets (a flag would show them in `ps`): shown as set or unset, never read.
constexpr std::string_view kSecretVariables[] = {"TEAMREG_ADMIN_TOKEN", "TEAMREG_SMTP_PASSWORD",
                                                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                 "AWS_SESSION_TOKEN"};

/// The file key of an option: its long name ("listen" for --listen); empty for --help, --config
/// and options without a long name.
std::string key_of(const CLI::Option& option) {
  if (option.get_lnames().empty()) return {};
  const std::string& name = option.get_lnames().front();
  if (name == "help" || name == "config") return {};
  return name;
}

std::string where(const ConfigFile& file, std::string_view key, std::uint32_t line) {
  return fmt::format("{}:{}: key \"{}\"", file.path, line, key);
}

tl::expected<std::string, std::string> scalar_text(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* b = node.as_boolean()) return std::string(b->get() ? "true" : "false");
  if (const auto* f = node.as_floating_point()) return fmt::format("{}", f->get());
  return tl::unexpected(std::string("expected a string, number or boolean"));
}

}  // namespace

tl::expected<ConfigFile, std::string> parse_config_file(std::string_view text,
                                                        const std::string& path) {
  ConfigFile file;
  file.path = path;
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return tl::unexpected(fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  }
  for (const auto& [key, node] : table) {
    const auto line = static_cast<std::uint32_t>(node.source().begin.line);
    const std::string name(key.str());
    std::string value;
    if (const auto* array = node.as_array()) {
      // Lists of origins or networks: the comma-separated text the flag takes.
      for (const auto& item : *array) {
        const auto* s = item.as_string();
        if (s == nullptr) {
          return tl::unexpected(
              fmt::format("{}: expected an array of strings", where(file, name, line)));
        }
        if (!value.empty()) value += ",";
        value += s->get();
      }
    } else {
      auto scalar = scalar_text(node);
      if (!scalar)
        return tl::unexpected(fmt::format("{}: {}", where(file, name, line), scalar.error()));
      value = std::move(*scalar);
    }
    file.settings.emplace(name, FileSetting{std::move(value), line});
  }
  return file;
}

tl::expected<ConfigFile, std::string> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(fmt::format("{}: cannot read the configuration file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config_file(text.str(), path);
}

std::string apply_config_file(CLI::App& command, const ConfigFile& file, const CLI::App& all_keys) {
  std::set<std::string, std::less<>> known;
  for (const CLI::Option* option : all_keys.get_options()) {
    if (std::string key = key_of(*option); !key.empty()) known.insert(std::move(key));
  }
  // Unknown keys first, in line order, so a typo is reported even when another value is bad.
  std::vector<std::pair<std::uint32_t, std::string>> unknown;
  for (const auto& [key, setting] : file.settings) {
    if (!known.contains(key)) unknown.emplace_back(setting.line, key);
  }
  if (!unknown.empty()) {
    std::sort(unknown.begin(), unknown.end());
    return fmt::format(
        "{}: unknown key (keys are the serve flags without \"--\", e.g. "
        "listen, data-dir)",
        where(file, unknown.front().second, unknown.front().first));
  }
  for (CLI::Option* option : command.get_options()) {
    const std::string key = key_of(*option);
    if (key.empty() || option->count() > 0) continue;
    const auto found = file.settings.find(key);
    if (found == file.settings.end()) continue;
    try {
      option->add_result(found->second.value);
      option->run_callback();
    } catch (const CLI::Error& e) {
      return fmt::format("{}: invalid value \"{}\": {}", where(file, key, found->second.line),
                         found->second.value, e.what());
    }
  }
  return {};
}

std::string apply_config_option(CLI::App& command, const CLI::App& all_keys, ConfigFile& loaded) {
  // CLI11 also reads the environment variables of the subcommands that were not chosen, and their
  // callbacks may run after this one's, so an env value of a shared variable could beat a flag:
  // the chosen command's own values are stored again, last.
  for (CLI::Option* option : command.get_options()) {
    if (option->count() > 0) option->run_callback();
  }
  const CLI::Option* option = command.get_option_no_throw("--config");
  if (option == nullptr || option->count() == 0) return {};
  auto file = load_config_file(option->as<std::string>());
  if (!file) return file.error();
  loaded = std::move(*file);
  return apply_config_file(command, loaded, all_keys);
}

std::vector<EffectiveSetting> effective_settings(const CLI::App& command, const ConfigFile& file) {
  const auto& from_command_line = command.parse_order();
  std::vector<EffectiveSetting> settings;
  for (const CLI::Option* option : command.get_options()) {
    std::string key = key_of(*option);
    if (option->get_lnames().empty() || option->get_lnames().front() == "help") continue;
    if (key.empty()) key = option->get_lnames().front();  // --config itself
    EffectiveSetting setting{key, {}, Source::kDefault, "default"};
    if (option->count() > 0) {
      const auto& results = option->results();
      std::string value;
      for (const auto& result : results) value += (value.empty() ? "" : ",") + result;
      setting.value = value;
      const char* env =
          option->get_envname().empty() ? nullptr : std::getenv(option->get_envname().c_str());
      if (std::find(from_command_line.begin(), from_command_line.end(), option) !=
          from_command_line.end()) {
        setting.source = Source::kFlag;
        setting.origin = "flag";
      } else if (env != nullptr && *env != '\0') {
        setting.source = Source::kEnv;
        setting.origin = "env " + option->get_envname();
      } else if (const auto found = file.settings.find(key); found != file.settings.end()) {
        setting.source = Source::kFile;
        setting.origin = fmt::format("file {}:{}", file.path, found->second.line);
      }
    } else {
      setting.value = option->get_default_str();
      if (setting.value.empty() && option->get_items_expected_max() == 0) setting.value = "false";
    }
    setting.value = mask_secrets(setting.value);
    settings.push_back(std::move(setting));
  }
  return settings;
}

std::string format_effective(const std::vector<EffectiveSetting>& settings) {
  std::string out;
  std::size_t width = 0;
  std::vector<std::string> lines;
  for (const auto& setting : settings) {
    std::string escaped;
    for (const char c : setting.value) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    lines.push_back(fmt::format("{} = \"{}\"", setting.key, escaped));
    width = std::max(width, lines.back().size());
  }
  for (std::size_t i = 0; i < settings.size(); ++i) {
    out += fmt::format("{:<{}}  # {}\n", lines[i], width, settings[i].origin);
  }
  for (const std::string_view name : kSecretVariables) {
    const char* value = std::getenv(std::string(name).c_str());
    out += fmt::format("# {}: {}\n", name,
                       value != nullptr && *value != '\0' ? "set (****)" : "not set");
  }
  return out;
}

std::string mask_secrets(std::string_view value) {
  std::string out(value);
  // scheme://user:password@host
  for (std::size_t scheme = out.find("://"); scheme != std::string::npos;
       scheme = out.find("://", scheme + 3)) {
    const std::size_t start = scheme + 3;
    const std::size_t end = out.find_first_of("/?#", start);
    const std::size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at == std::string::npos || at < start) continue;
    const std::size_t colon = out.find(':', start);
    if (colon == std::string::npos || colon > at) continue;
    out.replace(colon + 1, at - colon - 1, "****");
  }
  // ?password=... or libpq's "password=..." keyword
  for (std::size_t key = out.find("password="); key != std::string::npos;
       key = out.find("password=", key + 1)) {
    const std::size_t start = key + 9;
    const std::size_t end = std::min(out.find_first_of("& ", start), out.size());
    out.replace(start, end - start, "****");
  }
  return out;
}

}  // namespace teamreg::app
