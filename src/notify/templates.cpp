#include "notify/templates.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "notify/builtin_templates.hpp"
#include "notify/text.hpp"

namespace teamreg::notify {

struct Template::Node {
  enum class Kind { kText, kValue, kSection, kInverted };
  Kind kind = Kind::kText;
  std::string text;  ///< literal text, or the name of a value or section
  std::vector<Node> children;
};

namespace {

constexpr std::size_t kMaxTemplateBytes = std::size_t{64} * 1024;
constexpr std::string_view kPlayers = "players";
constexpr std::array<std::string_view, 7> kTeamNames = {
    "team_id", "team_name", "church_name", "captain_name", "vice_name", "player_count", "reason"};
constexpr std::array<std::string_view, 3> kPlayerNames = {"number", "name", "role"};

using Node = Template::Node;

bool contains(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (is_blank(text.front()) || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (is_blank(text.back()) || text.back() == '\n')) text.remove_suffix(1);
  return text;
}

/// A section tag alone on its line (blanks around it allowed) is replaced by the bare tag, line
/// break and blanks dropped, so `{{#players}}` on a line of its own adds no empty line.
std::string strip_standalone_section_lines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  std::size_t position = 0;
  while (position < source.size()) {
    const auto newline = source.find('\n', position);
    const std::size_t next = newline == std::string_view::npos ? source.size() : newline + 1;
    const auto line = source.substr(position, next - position);
    std::string_view tag = line;
    while (!tag.empty() && (is_blank(tag.front()) || tag.front() == '\n')) tag.remove_prefix(1);
    while (!tag.empty() && (is_blank(tag.back()) || tag.back() == '\n')) tag.remove_suffix(1);
    const bool standalone = tag.size() > 5 && tag.starts_with("{{") && tag.ends_with("}}") &&
                            (tag[2] == '#' || tag[2] == '^' || tag[2] == '/') &&
                            tag.find("{{", 2) == std::string_view::npos &&
                            tag.find("}}") == tag.size() - 2;
    out += standalone ? tag : line;
    position = next;
  }
  return out;
}

struct Parser {
  std::string_view source;
  std::size_t position = 0;

  tl::expected<std::vector<Node>, std::string> parse_block(bool in_players,
                                                           std::string_view open_section) {
    std::vector<Node> nodes;
    while (position < source.size()) {
      const auto open = source.find("{{", position);
      if (open != position) {
        const auto end = open == std::string_view::npos ? source.size() : open;
        nodes.push_back(
            Node{Node::Kind::kText, std::string(source.substr(position, end - position)), {}});
        position = end;
        if (open == std::string_view::npos) break;
      }
      const auto close = source.find("}}", open + 2);
      if (close == std::string_view::npos) {
        return tl::make_unexpected(
            fmt::format(R"("{{{{" without a closing "}}}}" near "{}")",
                        source.substr(open, std::min<std::size_t>(30, source.size() - open))));
      }
      const auto raw = source.substr(open, close + 2 - open);
      auto body = trim(source.substr(open + 2, close - open - 2));
      position = close + 2;
      if (body.empty()) return tl::make_unexpected(fmt::format("empty tag {}", raw));
      const char sigil = body.front();
      if (sigil == '/') {
        const auto name = trim(body.substr(1));
        if (name != open_section) {
          return tl::make_unexpected(
              open_section.empty() ? fmt::format("{} closes a section that was never opened", raw)
                                   : fmt::format("{} does not close the open section {{{{#{}}}}}",
                                                 raw, open_section));
        }
        return nodes;
      }
      if (sigil == '#' || sigil == '^') {
        const auto name = trim(body.substr(1));
        const bool players = name == kPlayers;
        if (players && in_players) {
          return tl::make_unexpected(fmt::format("{} cannot be nested in itself", raw));
        }
        if (!players && !known(name, in_players)) return unknown(raw);
        auto children = parse_block(in_players || (players && sigil == '#'), name);
        if (!children) return children;
        nodes.push_back(Node{sigil == '#' ? Node::Kind::kSection : Node::Kind::kInverted,
                             std::string(name), std::move(*children)});
        continue;
      }
      if (sigil == '{' || sigil == '&') {
        return tl::make_unexpected(
            fmt::format("{} is not supported: values are always escaped in HTML templates", raw));
      }
      if (!is_name_char(sigil)) {
        return tl::make_unexpected(fmt::format("unsupported tag {}", raw));
      }
      if (!known(body, in_players)) return unknown(raw);
      nodes.push_back(Node{Node::Kind::kValue, std::string(body), {}});
    }
    if (!open_section.empty()) {
      return tl::make_unexpected(fmt::format("section {{{{#{}}}}} is never closed", open_section));
    }
    return nodes;
  }

  static bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

  static bool known(std::string_view name, bool in_players) {
    return contains(kTeamNames, name) || (in_players && contains(kPlayerNames, name));
  }

  static tl::unexpected<std::string> unknown(std::string_view raw) {
    return tl::make_unexpected(
        fmt::format("unknown name in {} (known: {}; inside {{{{#players}}}} also {})", raw,
                    fmt::join(kTeamNames, ", "), fmt::join(kPlayerNames, ", ")));
  }
};

struct Scope {
  const TeamMailData& data;
  const PlayerLine* player = nullptr;
  std::size_t number = 0;

  std::string value(std::string_view name) const {
    if (player != nullptr) {
      if (name == "number") return std::to_string(number);
      if (name == "name") return player->name;
      if (name == "role") return player->role;
    }
    if (name == "team_id") return data.team_id;
    if (name == "team_name") return data.team_name;
    if (name == "church_name") return data.church_name;
    if (name == "captain_name") return data.captain_name;
    if (name == "vice_name") return data.vice_name;
    if (name == "player_count") return std::to_string(data.players.size());
    if (name == "reason") return data.reason;
    return {};  // unreachable: names are checked when the template is parsed
  }
};

void render_nodes(const std::vector<Node>& nodes, const Scope& scope, Escaping escaping,
                  std::string& out) {
  for (const Node& node : nodes) {
    switch (node.kind) {
      case Node::Kind::kText: out += node.text; break;
      case Node::Kind::kValue: {
        const std::string value = scope.value(node.text);
        out += escaping == Escaping::kHtml ? html_escape(value) : value;
        break;
      }
      case Node::Kind::kSection:
        if (node.text == kPlayers) {
          for (std::size_t i = 0; i < scope.data.players.size(); ++i) {
            render_nodes(node.children, Scope{scope.data, &scope.data.players[i], i + 1}, escaping,
                         out);
          }
        } else if (!scope.value(node.text).empty()) {
          render_nodes(node.children, scope, escaping, out);
        }
        break;
      case Node::Kind::kInverted: {
        const bool empty =
            node.text == kPlayers ? scope.data.players.empty() : scope.value(node.text).empty();
        if (empty) render_nodes(node.children, scope, escaping, out);
        break;
      }
    }
  }
}

/// One line for a Subject header: every run of whitespace or control characters becomes one
/// space, so a value with a line break cannot become a second header (compose() refuses it).
std::string one_line(std::string_view text) {
  std::string out;
  bool gap = false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) {
      gap = !out.empty();
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    out += c;
  }
  return out;
}

enum class Part { kSubject, kText, kHtml };

std::string file_name(MailKind kind, Part part) {
  const std::string_view suffix = part == Part::kSubject ? ".subject.txt"
                                  : part == Part::kText  ? ".txt"
                                                         : ".html";
  return fmt::format("{}{}", mail_kind_name(kind), suffix);
}

tl::expected<Template, std::string> parse_part(std::string_view source, Part part) {
  if (!is_valid_utf8(source)) return tl::make_unexpected("not valid UTF-8");
  if (part == Part::kSubject) {
    source = trim(source);
    if (source.find('\n') != std::string_view::npos) {
      return tl::make_unexpected("a subject template must be a single line");
    }
  }
  return Template::parse(source);
}

std::string_view builtin_text(std::string_view name) {
  for (const EmbeddedTemplate& file : builtin_template_files()) {
    if (file.name == name) return file.text;
  }
  throw std::logic_error(fmt::format("built-in mail template {} is missing", name));
}

}  // namespace

std::string_view mail_kind_name(MailKind kind) {
  switch (kind) {
    case MailKind::kReceived: return "received";
    case MailKind::kConfirmed: return "confirmed";
    case MailKind::kRejected: return "rejected";
  }
  return "unknown";
}

tl::expected<Template, std::string> Template::parse(std::string_view source) {
  const std::string prepared = strip_standalone_section_lines(source);
  Parser parser{prepared};
  auto nodes = parser.parse_block(false, {});
  if (!nodes) return tl::make_unexpected(std::move(nodes.error()));
  return Template(std::make_shared<const std::vector<Node>>(std::move(*nodes)));
}

std::string Template::render(const TeamMailData& data, Escaping escaping) const {
  std::string out;
  render_nodes(*nodes_, Scope{data}, escaping, out);
  return out;
}

std::vector<std::string> MailTemplates::file_names() {
  std::vector<std::string> names;
  for (const MailKind kind : kMailKinds) {
    for (const Part part : {Part::kSubject, Part::kText, Part::kHtml}) {
      names.push_back(file_name(kind, part));
    }
  }
  return names;
}

MailTemplates MailTemplates::builtin() {
  MailTemplates templates;
  for (const MailKind kind : kMailKinds) {
    const auto part = [&](Part which) {
      const std::string name = file_name(kind, which);
      auto parsed = parse_part(builtin_text(name), which);
      // The built-ins are checked by the unit tests; failing here is a build defect.
      if (!parsed) {
        throw std::logic_error(fmt::format("built-in mail template {}: {}", name, parsed.error()));
      }
      return std::move(*parsed);
    };
    templates.sets_.push_back(Set{part(Part::kSubject), part(Part::kText), part(Part::kHtml)});
  }
  return templates;
}

tl::expected<MailTemplates, std::string> MailTemplates::load(
    const std::filesystem::path& directory) {
  const auto fail = [&](const std::string& what) {
    return tl::make_unexpected(
        fmt::format("mail templates directory \"{}\": {}", directory.string(), what));
  };
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) {
    return fail("does not exist or is not a directory");
  }
  const std::vector<std::string> names = file_names();
  std::vector<std::pair<std::string, std::string>> sources;  // file name, contents
  std::filesystem::directory_iterator it(directory, error);
  if (error) return fail(fmt::format("cannot be listed ({})", error.message()));
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('.')) continue;
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return fail(fmt::format("unexpected file \"{}\" (template files are named: {})", name,
                              fmt::join(names, ", ")));
    }
    if (!it->is_regular_file(error)) return fail(fmt::format("{} is not a regular file", name));
    const auto size = it->file_size(error);
    if (error) return fail(fmt::format("{}: cannot be read ({})", name, error.message()));
    if (size > kMaxTemplateBytes) {
      return fail(fmt::format("{}: larger than {} bytes", name, kMaxTemplateBytes));
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return fail(fmt::format("{}: cannot be read", name));
    sources.emplace_back(name, std::move(contents));
  }
  if (error) return fail(fmt::format("cannot be listed ({})", error.message()));
  if (sources.empty()) {
    return fail(fmt::format("contains none of the template files ({})", fmt::join(names, ", ")));
  }

  MailTemplates templates = builtin();
  std::sort(sources.begin(), sources.end());
  for (const auto& [name, contents] : sources) {
    for (std::size_t k = 0; k < kMailKinds.size(); ++k) {
      Set& set = templates.sets_[k];
      for (const auto& [part, slot] :
           {std::pair{Part::kSubject, &set.subject}, std::pair{Part::kText, &set.text},
            std::pair{Part::kHtml, &set.html}}) {
        if (file_name(kMailKinds[k], part) != name) continue;
        auto parsed = parse_part(contents, part);
        if (!parsed) return fail(fmt::format("{}: {}", name, parsed.error()));
        *slot = std::move(*parsed);
      }
    }
    templates.overridden_.push_back(name);
  }
  return templates;
}

RenderedMail MailTemplates::render(MailKind kind, const TeamMailData& data) const {
  const Set& set = sets_.at(static_cast<std::size_t>(kind));
  return RenderedMail{one_line(set.subject.render(data, Escaping::kNone)),
                      set.text.render(data, Escaping::kNone),
                      set.html.render(data, Escaping::kHtml)};
}

}  // namespace teamreg::notify
