// Form validation from arbitrary field sets: validate_registration() must give a Registration or
// a validation error naming a field, never crash; an accepted Registration must satisfy every
// rule it claims (player count, normalised phones and e-mails, trimmed names, idempotent keys);
// and the order in which fields arrive must not change whether, or as what, a form is accepted.
//
// Input: one rules character, then `&`-separated `name=value` fields, both percent-decoded
// (%XX; `+` is not special). A name written `@name` is a file field (its value is ignored).
// Rules character: bits 0-2 require the payment receipt, the group photo, the player documents;
// bit 3 uses 2-3 players instead of 11-15 (so that the fuzzer reaches acceptance sooner).
// '0' is the server's defaults.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "check.hpp"
#include "json_check.hpp"
#include "registration/validation.hpp"

namespace {

using teamreg::Form;
using teamreg::Registration;
using teamreg::RegistrationRules;
using teamreg::StagedDocument;
using teamreg::fuzz::check;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

Form read_form(std::string_view text) {
  Form form;
  std::size_t documents = 0;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view field = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (field.empty()) continue;
    const std::size_t equals = field.find('=');
    const std::string_view name = field.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view{} : field.substr(equals + 1);
    if (name.starts_with('@')) {
      form.files.push_back(StagedDocument{percent_decode(name.substr(1)),
                                          "staged-" + std::to_string(documents++),
                                          "application/pdf", 1024});
    } else {
      form.texts.emplace_back(percent_decode(name), percent_decode(value));
    }
  }
  return form;
}

bool is_digits(std::string_view text, std::size_t count) {
  return text.size() == count &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool has_outer_space(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  return !text.empty() && (kSpace.find(text.front()) != std::string_view::npos ||
                           kSpace.find(text.back()) != std::string_view::npos);
}

void check_name(std::string_view name, std::string_view what) {
  check(!name.empty(), what, "empty");
  check(!has_outer_space(name), what, "not trimmed");
}

void check_email(std::string_view email) {
  check(std::count(email.begin(), email.end(), '@') == 1, "an accepted e-mail has not one @",
        email);
  check(std::none_of(email.begin(), email.end(), [](char c) { return c >= 'A' && c <= 'Z'; }),
        "an accepted e-mail is not lower-cased", email);
}

/// Everything validation decides, as text, to compare two outcomes.
std::string describe(const Registration& r) {
  std::string out = r.team_name + '\n' + r.team_key + '\n' + r.church_name + '\n' + r.church_key;
  for (const auto* person : {&r.captain, &r.vice}) {
    out += '\n' + person->name + '|' + person->phone + '|' + person->email + '|' + person->whatsapp;
  }
  for (const auto& player : r.players) out += '\n' + player.name + '|' + player.role;
  return out;
}

void check_accepted(const Registration& r, const RegistrationRules& rules, const Form& form) {
  const auto players = static_cast<int>(r.players.size());
  check(players >= rules.min_players && players <= rules.max_players,
        "an accepted registration has a player count outside the rules");
  check_name(r.team_name, "team_name");
  check_name(r.church_name, "church_name");
  check_name(r.captain.name, "captain_name");
  check_name(r.vice.name, "vice_name");
  for (const auto& player : r.players) {
    check_name(player.name, "player name");
    check(player.role.empty() || player.role == "Batsman" || player.role == "Bowler" ||
              player.role == "All-Rounder" || player.role == "Wicket-Keeper",
          "an accepted player has an unknown role", player.role);
  }
  for (const auto* person : {&r.captain, &r.vice}) {
    check(is_digits(person->phone, 10), "an accepted phone is not 10 digits", person->phone);
    check(person->whatsapp.empty() || is_digits(person->whatsapp, 10),
          "an accepted WhatsApp number is not 10 digits", person->whatsapp);
    check_email(person->email);
  }
  // The uniqueness keys are normal forms: normalising one again changes nothing.
  check(teamreg::team_key(r.team_key) == r.team_key, "team_key is not idempotent", r.team_key);
  check(teamreg::church_key(r.church_key) == r.church_key, "church_key is not idempotent",
        r.church_key);
  check(r.documents.size() == form.files.size(), "documents were lost or invented");
  const auto has_document = [&r](std::string_view field) {
    return std::any_of(r.documents.begin(), r.documents.end(),
                       [field](const StagedDocument& d) { return d.field == field; });
  };
  check(has_document("pastor_letter"), "accepted without the pastor letter");
  check(!rules.require_payment_receipt || has_document("payment_receipt"),
        "accepted without a required payment receipt");
  check(!rules.require_group_photo || has_document("group_photo"),
        "accepted without a required group photo");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto flags = static_cast<unsigned char>(input.front());
  RegistrationRules rules;
  rules.require_payment_receipt = (flags & 1u) != 0;
  rules.require_group_photo = (flags & 2u) != 0;
  rules.require_player_documents = (flags & 4u) != 0;
  if ((flags & 8u) != 0) {
    rules.min_players = 2;
    rules.max_players = 3;
  }
  const Form form = read_form(input.substr(1));

  const auto result = teamreg::validate_registration(form, rules);
  if (!result) {
    const teamreg::Error& error = result.error();
    check(error.code == teamreg::ErrorCode::kValidationFailed,
          "a form error is not a validation error");
    check(!error.message.empty(), "a form error has no message");
    teamreg::fuzz::check_error_body(error);
  } else {
    check_accepted(*result, rules, form);
  }

  // The same fields in the opposite order: accepted alike, as the same registration.
  Form reversed = form;
  std::reverse(reversed.texts.begin(), reversed.texts.end());
  std::reverse(reversed.files.begin(), reversed.files.end());
  const auto again = teamreg::validate_registration(reversed, rules);
  check(again.has_value() == result.has_value(), "field order changed whether a form is accepted",
        result ? "first accepted" : result.error().field + ": " + result.error().message);
  if (result) {
    check(describe(*again) == describe(*result), "field order changed the registration");
  }
  return 0;
}
