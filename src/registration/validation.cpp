#include "registration/validation.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace teamreg {
namespace {

// In API.md order, which is also the order in which missing documents are reported.
constexpr std::array<std::string_view, 3> kTeamDocumentFields = {"pastor_letter", "payment_receipt",
                                                                 "group_photo"};
constexpr std::array<std::string_view, 4> kRoles = {"Batsman", "Bowler", "All-Rounder",
                                                    "Wicket-Keeper"};

constexpr std::string_view kPlayerPrefix = "player_";
constexpr int kMaxPlayerIndex = 99;
constexpr std::size_t kPlayerSlots = kMaxPlayerIndex + 1;

constexpr std::size_t kPhoneDigits = 10;
constexpr std::string_view kIndiaPrefix = "+91";
constexpr std::size_t kMaxEmailBytes = 254;
constexpr std::size_t kMaxEmailLocalBytes = 64;
constexpr std::size_t kMaxDomainLabelBytes = 63;
constexpr std::string_view kEmailLocalPunctuation = ".!#$%&'*+/=?^_`{|}~-";
constexpr std::string_view kAsciiWhitespace = " \t\n\v\f\r";

enum class PlayerPart { kName, kRole, kAadharFile, kSubscriptionFile };
constexpr std::array<PlayerPart, 4> kPlayerParts = {
    PlayerPart::kName, PlayerPart::kRole, PlayerPart::kAadharFile, PlayerPart::kSubscriptionFile};

struct PlayerField {
  int index = 0;
  PlayerPart part = PlayerPart::kName;
};

std::string_view part_suffix(PlayerPart part) {
  switch (part) {
    case PlayerPart::kName: return "name";
    case PlayerPart::kRole: return "role";
    case PlayerPart::kAadharFile: return "aadhar_file";
    case PlayerPart::kSubscriptionFile: return "subscription_file";
  }
  return "name";
}

std::string player_field_name(std::size_t index, PlayerPart part) {
  std::string name(kPlayerPrefix);
  name += std::to_string(index);
  name += '_';
  name += part_suffix(part);
  return name;
}

bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_space(char c) {
  return kAsciiWhitespace.find(c) != std::string_view::npos;
}
char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(kAsciiWhitespace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kAsciiWhitespace);
  return text.substr(first, last - first + 1);
}

// "player_{i}_{part}" with i in 0..99 written without leading zeros, so that every player field
// has exactly one spelling and duplicates cannot hide behind "player_01_name".
std::optional<PlayerField> parse_player_field(std::string_view name) {
  if (!name.starts_with(kPlayerPrefix)) return std::nullopt;
  name.remove_prefix(kPlayerPrefix.size());
  const auto underscore = name.find('_');
  if (underscore == std::string_view::npos) return std::nullopt;
  const auto digits = name.substr(0, underscore);
  if (digits.empty() || digits.size() > 2) return std::nullopt;
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  int index = 0;
  for (const char c : digits) {
    if (!is_ascii_digit(c)) return std::nullopt;
    index = index * 10 + (c - '0');
  }
  const auto suffix = name.substr(underscore + 1);
  for (const PlayerPart part : kPlayerParts) {
    if (suffix == part_suffix(part)) return PlayerField{index, part};
  }
  return std::nullopt;
}

bool is_file_part(PlayerPart part) {
  return part == PlayerPart::kAadharFile || part == PlayerPart::kSubscriptionFile;
}

// Decodes strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
std::optional<std::u32string> decode_utf8(std::string_view text) {
  std::u32string code_points;
  code_points.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      code_points.push_back(lead);
      ++i;
      continue;
    }
    std::size_t length = 0;
    char32_t code_point = 0;
    char32_t smallest = 0;
    if ((lead & 0xE0U) == 0xC0U) {
      length = 2;
      code_point = lead & 0x1FU;
      smallest = 0x80;
    } else if ((lead & 0xF0U) == 0xE0U) {
      length = 3;
      code_point = lead & 0x0FU;
      smallest = 0x800;
    } else if ((lead & 0xF8U) == 0xF0U) {
      length = 4;
      code_point = lead & 0x07U;
      smallest = 0x10000;
    } else {
      return std::nullopt;
    }
    if (text.size() - i < length) return std::nullopt;
    for (std::size_t k = 1; k < length; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if ((byte & 0xC0U) != 0x80U) return std::nullopt;
      code_point = (code_point << 6U) | (byte & 0x3FU);
    }
    if (code_point < smallest || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return std::nullopt;
    }
    code_points.push_back(code_point);
    i += length;
  }
  return code_points;
}

// Every non-ASCII code point counts as a letter (names in any script, with their combining
// vowel signs, must pass), except invisible ones: controls, Unicode spaces, bidi overrides and
// the like would let two names that look identical differ, or reorder text in the admin UI.
// U+200C/U+200D (ZWNJ/ZWJ) stay allowed because Malayalam and other Indic scripts need them.
bool is_non_ascii_letter(char32_t c) {
  if (c <= 0x9F) return false;                   // C1 controls
  if (c == 0xA0 || c == 0xAD) return false;      // no-break space, soft hyphen
  if (c == 0x1680 || c == 0x3000) return false;  // ogham space, ideographic space
  if (c >= 0x2000 && c <= 0x200B) return false;  // typographic spaces, zero-width space
  if (c == 0x200E || c == 0x200F) return false;  // LRM, RLM
  if (c >= 0x2028 && c <= 0x202F) return false;  // line/paragraph separators, bidi embeddings
  if (c >= 0x205F && c <= 0x206F) return false;  // word joiner, invisible operators, isolates
  if (c == 0xFEFF) return false;                 // byte order mark
  if (c >= 0xFFF9 && c <= 0xFFFB) return false;  // interlinear annotation
  if (c >= 0xFDD0 && c <= 0xFDEF) return false;  // noncharacters
  if ((c & 0xFFFEU) == 0xFFFEU) return false;    // noncharacters U+xFFFE, U+xFFFF
  if (c >= 0xE000 && c <= 0xF8FF) return false;  // private use
  if (c >= 0xE0000) return false;                // tags, variation selectors, private use planes
  return true;
}

/// A name-like field: length bounds in code points and the ASCII characters allowed besides
/// letters and the space.
struct TextRule {
  std::size_t min_chars = 0;
  std::size_t max_chars = 0;
  bool digits = false;
  std::string_view punctuation;
  std::string_view allowed;  ///< the allowed characters, in words, for the message
};

constexpr TextRule kTeamNameRule{3, 80, true, "'-",
                                 "letters, digits, spaces, apostrophes and hyphens"};
constexpr TextRule kChurchNameRule{3, 100, false, "'-.",
                                   "letters, spaces, apostrophes, hyphens and full stops"};
constexpr TextRule kPersonNameRule{3, 50, false, "'-.",
                                   "letters, spaces, apostrophes, hyphens and full stops"};
constexpr TextRule kPlayerNameRule{2, 50, false, "'-.",
                                   "letters, spaces, apostrophes, hyphens and full stops"};

bool allowed_by(const TextRule& rule, char32_t c) {
  if (c >= 0x80) return is_non_ascii_letter(c);
  const auto ascii = static_cast<char>(c);
  if (is_ascii_letter(ascii) || ascii == ' ') return true;
  if (rule.digits && is_ascii_digit(ascii)) return true;
  return rule.punctuation.find(ascii) != std::string_view::npos;
}

/// Trimmed text values by field name. Ordered so lookups by string_view work.
using TextMap = std::map<std::string, std::string, std::less<>>;
using NameSet = std::set<std::string, std::less<>>;
using Checked = tl::expected<std::string, Error>;

std::string_view lookup(const TextMap& texts, std::string_view field) {
  const auto it = texts.find(field);
  return it == texts.end() ? std::string_view{} : std::string_view{it->second};
}

std::string required_message(std::string_view field) {
  return std::string(field) + " is required";
}

Checked check_text(std::string_view field, std::string_view value, const TextRule& rule) {
  if (value.empty()) {
    return tl::make_unexpected(validation_error(std::string(field), required_message(field)));
  }
  const auto code_points = decode_utf8(value);
  if (!code_points) {
    return tl::make_unexpected(
        validation_error(std::string(field), std::string(field) + " is not valid UTF-8 text"));
  }
  const std::size_t length = code_points->size();
  if (length < rule.min_chars || length > rule.max_chars) {
    return tl::make_unexpected(validation_error(
        std::string(field), std::string(field) + " must be between " +
                                std::to_string(rule.min_chars) + " and " +
                                std::to_string(rule.max_chars) + " characters long (got " +
                                std::to_string(length) + ")"));
  }
  for (const char32_t c : *code_points) {
    if (!allowed_by(rule, c)) {
      return tl::make_unexpected(
          validation_error(std::string(field),
                           std::string(field) + " may only contain " + std::string(rule.allowed)));
    }
  }
  return std::string(value);
}

// Returns the 10 digits, or nothing when the value is not an Indian 10-digit number.
std::optional<std::string> normalise_phone(std::string_view value) {
  std::string compact;
  for (const char c : value) {
    if (c != ' ') compact += c;
  }
  std::string_view digits = compact;
  if (digits.starts_with(kIndiaPrefix)) digits.remove_prefix(kIndiaPrefix.size());
  if (digits.size() != kPhoneDigits) return std::nullopt;
  for (const char c : digits) {
    if (!is_ascii_digit(c)) return std::nullopt;
  }
  return std::string(digits);
}

Checked check_phone(std::string_view field, std::string_view value, bool optional) {
  if (value.empty()) {
    if (optional) return std::string();
    return tl::make_unexpected(validation_error(std::string(field), required_message(field)));
  }
  auto digits = normalise_phone(value);
  if (!digits) {
    return tl::make_unexpected(
        validation_error(std::string(field), std::string(field) + " must be 10 digits"));
  }
  return std::move(*digits);
}

bool is_valid_domain(std::string_view domain) {
  std::size_t labels = 0;
  std::string_view last_label;
  while (true) {
    const auto dot = domain.find('.');
    const auto label = domain.substr(0, dot);
    if (label.empty() || label.size() > kMaxDomainLabelBytes) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!is_ascii_letter(c) && !is_ascii_digit(c) && c != '-') return false;
    }
    ++labels;
    last_label = label;
    if (dot == std::string_view::npos) break;
    domain.remove_prefix(dot + 1);
  }
  if (labels < 2 || last_label.size() < 2) return false;
  for (const char c : last_label) {
    if (!is_ascii_letter(c)) return false;
  }
  return true;
}

// Pragmatic, not RFC 5322: what real sign-up forms accept (no quoted local parts, no IP
// literals, no internationalised addresses).
bool is_valid_email(std::string_view email) {
  if (email.size() > kMaxEmailBytes) return false;
  const auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const auto local = email.substr(0, at);
  if (local.empty() || local.size() > kMaxEmailLocalBytes) return false;
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  for (const char c : local) {
    if (!is_ascii_letter(c) && !is_ascii_digit(c) &&
        kEmailLocalPunctuation.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return is_valid_domain(email.substr(at + 1));
}

Checked check_email(std::string_view field, std::string_view value) {
  if (value.empty()) {
    return tl::make_unexpected(validation_error(std::string(field), required_message(field)));
  }
  if (!is_valid_email(value)) {
    return tl::make_unexpected(validation_error(
        std::string(field), std::string(field) + " must be a valid e-mail address"));
  }
  std::string lowered(value);
  for (char& c : lowered) c = ascii_lower(c);
  return lowered;
}

Checked check_role(std::string_view field, std::string_view value) {
  if (value.empty()) return std::string();
  for (const std::string_view role : kRoles) {
    if (value == role) return std::string(value);
  }
  return tl::make_unexpected(validation_error(
      std::string(field),
      std::string(field) + " must be one of Batsman, Bowler, All-Rounder or Wicket-Keeper"));
}

// Moves a checked value into place, or hands back its error.
std::optional<Error> assign(Checked checked, std::string& out) {
  if (!checked) return std::move(checked.error());
  out = std::move(*checked);
  return std::nullopt;
}

enum class TextKind { kTeamName, kChurchName, kPersonName, kPhone, kEmail, kWhatsapp };

Checked check_fixed_text(std::string_view field, std::string_view value, TextKind kind) {
  switch (kind) {
    case TextKind::kTeamName: return check_text(field, value, kTeamNameRule);
    case TextKind::kChurchName: return check_text(field, value, kChurchNameRule);
    case TextKind::kPersonName: return check_text(field, value, kPersonNameRule);
    case TextKind::kPhone: return check_phone(field, value, false);
    case TextKind::kEmail: return check_email(field, value);
    case TextKind::kWhatsapp: return check_phone(field, value, true);
  }
  return check_text(field, value, kPersonNameRule);
}

/// A fixed (non-player) text field: its rule and where its value lands.
struct FixedTextField {
  std::string_view name;
  TextKind kind = TextKind::kPersonName;
  std::string& (*slot)(Registration&) = nullptr;
};

// API.md table order, which is also the order in which failures are reported.
constexpr std::array<FixedTextField, 10> kFixedTextFields = {{
    {"team_name", TextKind::kTeamName, [](Registration& r) -> std::string& { return r.team_name; }},
    {"church_name", TextKind::kChurchName,
     [](Registration& r) -> std::string& { return r.church_name; }},
    {"captain_name", TextKind::kPersonName,
     [](Registration& r) -> std::string& { return r.captain.name; }},
    {"vice_name", TextKind::kPersonName,
     [](Registration& r) -> std::string& { return r.vice.name; }},
    {"captain_phone", TextKind::kPhone,
     [](Registration& r) -> std::string& { return r.captain.phone; }},
    {"vice_phone", TextKind::kPhone, [](Registration& r) -> std::string& { return r.vice.phone; }},
    {"captain_email", TextKind::kEmail,
     [](Registration& r) -> std::string& { return r.captain.email; }},
    {"vice_email", TextKind::kEmail, [](Registration& r) -> std::string& { return r.vice.email; }},
    {"captain_whatsapp", TextKind::kWhatsapp,
     [](Registration& r) -> std::string& { return r.captain.whatsapp; }},
    {"vice_whatsapp", TextKind::kWhatsapp,
     [](Registration& r) -> std::string& { return r.vice.whatsapp; }},
}};

/// The form reduced to what the field rules look at: trimmed texts and the names of files.
struct Fields {
  TextMap texts;
  NameSet files;
};

// Form shape before any value: unknown names, then duplicates, then values of the wrong kind.
// An empty text value for a document is how browsers send an unselected file input, so it is
// treated as absent (a required document then fails as missing, with the clearer message).
tl::expected<Fields, Error> collect_fields(const Form& form) {
  NameSet seen;
  const auto check_name = [&seen](const std::string& name) -> std::optional<Error> {
    if (classify_field(name) == FieldKind::kUnknown) {
      return validation_error(name, "Unknown field " + name);
    }
    if (!seen.insert(name).second) {
      return validation_error(name, name + " was sent more than once");
    }
    return std::nullopt;
  };
  for (const auto& [name, value] : form.texts) {
    if (auto error = check_name(name)) return tl::make_unexpected(std::move(*error));
  }
  for (const auto& file : form.files) {
    if (auto error = check_name(file.field)) return tl::make_unexpected(std::move(*error));
  }

  Fields fields;
  for (const auto& [name, value] : form.texts) {
    const auto trimmed = trim(value);
    if (classify_field(name) == FieldKind::kFile) {
      if (trimmed.empty()) continue;
      return tl::make_unexpected(validation_error(name, name + " must be a file upload"));
    }
    fields.texts.emplace(name, trimmed);
  }
  for (const auto& file : form.files) {
    if (classify_field(file.field) == FieldKind::kText) {
      return tl::make_unexpected(
          validation_error(file.field, file.field + " must be a text value, not a file upload"));
    }
    fields.files.insert(file.field);
  }
  return fields;
}

/// Which player fields carry something, per index.
struct PlayerSlot {
  std::array<bool, kPlayerParts.size()> present{};
  bool any() const { return std::find(present.begin(), present.end(), true) != present.end(); }
  bool has(PlayerPart part) const { return present[static_cast<std::size_t>(part)]; }
};

// Player indexes must be exactly 0..n-1, where n is the length of the run of indexes that have
// a name field. Any other player field is either at index n (then its name is what is missing)
// or further on (then the field itself is the error: it sits after a gap). Empty optional values
// (a blank role, an empty file input) do not count, as they carry nothing.
tl::expected<std::size_t, Error> count_players(const Fields& fields) {
  std::array<PlayerSlot, kPlayerSlots> slots{};
  for (const auto& [name, value] : fields.texts) {
    const auto player = parse_player_field(name);
    if (!player) continue;
    if (player->part == PlayerPart::kRole && value.empty()) continue;
    slots[static_cast<std::size_t>(player->index)].present[static_cast<std::size_t>(player->part)] =
        true;
  }
  for (const auto& name : fields.files) {
    const auto player = parse_player_field(name);
    if (!player || !is_file_part(player->part)) continue;
    slots[static_cast<std::size_t>(player->index)].present[static_cast<std::size_t>(player->part)] =
        true;
  }

  std::size_t count = 0;
  while (count < kPlayerSlots && slots[count].has(PlayerPart::kName)) ++count;
  for (std::size_t index = count; index < kPlayerSlots; ++index) {
    if (!slots[index].any()) continue;
    if (index == count) {
      const auto field = player_field_name(index, PlayerPart::kName);
      return tl::make_unexpected(validation_error(field, required_message(field)));
    }
    for (const PlayerPart part : kPlayerParts) {
      if (!slots[index].has(part)) continue;
      const auto field = player_field_name(index, part);
      return tl::make_unexpected(validation_error(
          field, field + " was sent without " + player_field_name(index - 1, PlayerPart::kName) +
                     "; players must be numbered from 0 without gaps"));
    }
  }
  return count;
}

std::string player_count_message(const RegistrationRules& rules, std::size_t count) {
  const auto got = " (got " + std::to_string(count) + ")";
  if (rules.min_players == rules.max_players) {
    return "Exactly " + std::to_string(rules.min_players) + " players are required" + got;
  }
  return "Between " + std::to_string(rules.min_players) + " and " +
         std::to_string(rules.max_players) + " players are required" + got;
}

std::optional<Error> check_documents(const NameSet& files, const RegistrationRules& rules,
                                     std::size_t player_count) {
  const auto require = [&files](const std::string& field) -> std::optional<Error> {
    if (files.contains(field)) return std::nullopt;
    return validation_error(field, required_message(field));
  };
  const std::array<bool, kTeamDocumentFields.size()> required = {
      true, rules.require_payment_receipt, rules.require_group_photo};
  for (std::size_t i = 0; i < kTeamDocumentFields.size(); ++i) {
    if (!required[i]) continue;
    if (auto error = require(std::string(kTeamDocumentFields[i]))) return error;
  }
  if (!rules.require_player_documents) return std::nullopt;
  for (std::size_t index = 0; index < player_count; ++index) {
    for (const PlayerPart part : {PlayerPart::kAadharFile, PlayerPart::kSubscriptionFile}) {
      if (auto error = require(player_field_name(index, part))) return error;
    }
  }
  return std::nullopt;
}

}  // namespace

FieldKind classify_field(std::string_view name) {
  for (const FixedTextField& field : kFixedTextFields) {
    if (name == field.name) return FieldKind::kText;
  }
  for (const std::string_view field : kTeamDocumentFields) {
    if (name == field) return FieldKind::kFile;
  }
  const auto player = parse_player_field(name);
  if (!player) return FieldKind::kUnknown;
  return is_file_part(player->part) ? FieldKind::kFile : FieldKind::kText;
}

tl::expected<Registration, Error> validate_registration(const Form& form,
                                                        const RegistrationRules& rules) {
  auto fields = collect_fields(form);
  if (!fields) return tl::make_unexpected(std::move(fields.error()));
  const TextMap& texts = fields->texts;

  Registration registration;
  for (const FixedTextField& fixed : kFixedTextFields) {
    const auto value = lookup(texts, fixed.name);
    if (auto e =
            assign(check_fixed_text(fixed.name, value, fixed.kind), fixed.slot(registration))) {
      return tl::make_unexpected(std::move(*e));
    }
  }

  const auto count = count_players(*fields);
  if (!count) return tl::make_unexpected(count.error());
  const auto players = static_cast<long long>(*count);
  if (players < rules.min_players || players > rules.max_players) {
    return tl::make_unexpected(validation_error("players", player_count_message(rules, *count)));
  }
  registration.players.resize(*count);
  for (std::size_t index = 0; index < *count; ++index) {
    Player& player = registration.players[index];
    const auto name = player_field_name(index, PlayerPart::kName);
    const auto role = player_field_name(index, PlayerPart::kRole);
    if (auto e = assign(check_text(name, lookup(texts, name), kPlayerNameRule), player.name)) {
      return tl::make_unexpected(std::move(*e));
    }
    if (auto e = assign(check_role(role, lookup(texts, role)), player.role)) {
      return tl::make_unexpected(std::move(*e));
    }
  }

  if (auto error = check_documents(fields->files, rules, *count)) {
    return tl::make_unexpected(std::move(*error));
  }
  registration.documents = form.files;
  // The uniqueness keys are decided here, once, so that storage compares them and never
  // normalises text itself.
  registration.team_key = team_key(registration.team_name);
  registration.church_key = church_key(registration.church_name);
  return registration;
}

namespace {

/// Phone keyboards type ’ (U+2019) where a desktop types ': without folding them, "St. Peter’s"
/// and "St. Peter's" would be two churches and the per-church limit could be sidestepped.
std::string fold_apostrophes(std::string_view text) {
  static constexpr std::string_view kLookalikes[] = {"\xE2\x80\x98", "\xE2\x80\x99", "\xCA\xBC",
                                                     "\xC2\xB4", "\x60"};
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    bool folded = false;
    for (const std::string_view lookalike : kLookalikes) {
      if (text.substr(i).starts_with(lookalike)) {
        out.push_back('\'');
        i += lookalike.size();
        folded = true;
        break;
      }
    }
    if (!folded) out.push_back(text[i++]);
  }
  return out;
}

}  // namespace

std::string church_key(std::string_view church_name) {
  std::string key;
  key.reserve(church_name.size());
  for (const char c : fold_apostrophes(church_name)) {
    if (!is_ascii_space(c)) key += ascii_lower(c);
  }
  return key;
}

std::string team_key(std::string_view team_name) {
  std::string key;
  key.reserve(team_name.size());
  bool pending_space = false;
  const std::string folded = fold_apostrophes(trim(team_name));
  for (const char c : folded) {
    if (is_ascii_space(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) key += ' ';
    pending_space = false;
    key += ascii_lower(c);
  }
  return key;
}

}  // namespace teamreg
