#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace teamreg::notify {

/// The notifications teamreg sends.
enum class MailKind { kReceived, kConfirmed, kRejected };

inline constexpr std::array<MailKind, 3> kMailKinds = {MailKind::kReceived, MailKind::kConfirmed,
                                                       MailKind::kRejected};

/// "received", "confirmed", "rejected": also the first part of the template file names.
std::string_view mail_kind_name(MailKind kind);

struct PlayerLine {
  std::string name;
  std::string role;  ///< may be empty
};

/// Every value a template can use. Plain data, filled by the caller from a team.
struct TeamMailData {
  std::string team_id;
  std::string team_name;
  std::string church_name;
  std::string captain_name;
  std::string vice_name;
  std::vector<PlayerLine> players;
  std::string reason;  ///< rejection reason; empty when none was given (and for other kinds)
};

struct RenderedMail {
  std::string subject;  ///< one line: whitespace runs (line breaks included) become one space
  std::string text;
  std::string html;
};

/// How a template's values are written out.
enum class Escaping {
  kNone,  ///< text part and subject: values verbatim
  kHtml,  ///< HTML part: every value through html_escape(), without exception
};

/// One parsed template. The syntax, a small subset of Mustache:
///   {{name}}                 a value (see the names below); `{{ name }}` works too
///   {{#players}}…{{/players}}  the block once per player, with {{number}} (1-based), {{name}}
///                            and {{role}} of that player; outer names stay visible
///   {{#name}}…{{/name}}      the block once if the value is not empty (e.g. {{#reason}})
///   {{^name}}…{{/name}}      the block once if the value is empty (or, for players, no players)
/// Names: team_id, team_name, church_name, captain_name, vice_name, player_count, reason.
/// A section tag alone on its line takes the whole line with it, so blocks do not leave blank
/// lines. There is deliberately no unescaped form (`{{{x}}}` / `{{&x}}`): every value in an
/// HTML part is escaped. Unknown names, unclosed or mismatched sections and stray `{{` or `}}`
/// are errors found when the template is parsed, not when a mail is sent.
class Template final {
 public:
  static tl::expected<Template, std::string> parse(std::string_view source);
  std::string render(const TeamMailData& data, Escaping escaping) const;

  struct Node;

 private:
  explicit Template(std::shared_ptr<const std::vector<Node>> nodes) : nodes_(std::move(nodes)) {}
  std::shared_ptr<const std::vector<Node>> nodes_;
};

/// The nine templates (subject, text and HTML of each kind), immutable once loaded.
class MailTemplates final {
 public:
  /// The templates built into the binary (mail-templates/ in the source tree).
  static MailTemplates builtin();

  /// The built-in templates, each replaced by the file of the same name in `directory` if there
  /// is one (received.subject.txt, received.txt, received.html, confirmed.…, rejected.…).
  /// Hidden files (".…") are ignored. An error, worded for the operator, when the directory is
  /// missing or holds none of the files, when a file has an unknown name (a typo would
  /// otherwise be silently ignored), cannot be read, is over 64 KiB, is not UTF-8, or does not
  /// parse; a subject must be one line.
  static tl::expected<MailTemplates, std::string> load(const std::filesystem::path& directory);

  RenderedMail render(MailKind kind, const TeamMailData& data) const;

  /// File names taken from the override directory, for the startup log.
  const std::vector<std::string>& overridden() const { return overridden_; }

  /// "received.subject.txt" etc.: the nine file names, in a fixed order.
  static std::vector<std::string> file_names();

 private:
  struct Set {
    Template subject;
    Template text;
    Template html;
  };
  MailTemplates() = default;
  std::vector<Set> sets_;  // indexed by MailKind
  std::vector<std::string> overridden_;
};

}  // namespace teamreg::notify
