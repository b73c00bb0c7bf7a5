#include "registration/validation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace teamreg {
namespace {

// Player names may not contain digits, so index i becomes two letters: 0 → "Aa", 27 → "Bb".
std::string player_name(int index) {
  std::string name = "Player ";
  name += static_cast<char>('A' + index / 26);
  name += static_cast<char>('a' + index % 26);
  return name;
}

std::string player_field(int index, std::string_view part) {
  return "player_" + std::to_string(index) + "_" + std::string(part);
}

StagedDocument document(std::string field) {
  return StagedDocument{std::move(field), "0b6d1c1e-5a8e-4c57-9a57-8f0d2b1e4f10", "application/pdf",
                        1024};
}

// A form every default rule accepts, with values that exercise trimming and normalisation.
Form valid_form(int players = 11) {
  Form form;
  form.texts = {
      {"team_name", "  Holy Strikers  "},
      {"church_name", "St. Peter's Church"},
      {"captain_name", "John Mathew"},
      {"captain_phone", "+91 98765 43210"},
      {"captain_email", "John.Mathew@Example.COM"},
      {"captain_whatsapp", ""},
      {"vice_name", "Anna-Marie D'Souza"},
      {"vice_phone", "98765 43211"},
      {"vice_email", "anna@example.org"},
      {"vice_whatsapp", "9876543212"},
  };
  for (int i = 0; i < players; ++i) {
    form.texts.emplace_back(player_field(i, "name"), player_name(i));
    form.texts.emplace_back(player_field(i, "role"), i % 2 == 0 ? "Batsman" : "");
  }
  form.files.push_back(document("pastor_letter"));
  return form;
}

void set_text(Form& form, std::string_view field, std::string value) {
  for (auto& [name, existing] : form.texts) {
    if (name == field) {
      existing = std::move(value);
      return;
    }
  }
  form.texts.emplace_back(std::string(field), std::move(value));
}

void remove_field(Form& form, std::string_view field) {
  std::erase_if(form.texts, [field](const auto& text) { return text.first == field; });
  std::erase_if(form.files, [field](const auto& file) { return file.field == field; });
}

void add_player_documents(Form& form, int players) {
  for (int i = 0; i < players; ++i) {
    form.files.push_back(document(player_field(i, "aadhar_file")));
    form.files.push_back(document(player_field(i, "subscription_file")));
  }
}

Registration accepted(const Form& form, const RegistrationRules& rules = {}) {
  auto result = validate_registration(form, rules);
  EXPECT_TRUE(result.has_value()) << "rejected: field=" << result.error().field
                                  << " message=" << result.error().message;
  return result ? *result : Registration{};
}

Error rejected(const Form& form, const RegistrationRules& rules = {}) {
  auto result = validate_registration(form, rules);
  EXPECT_FALSE(result.has_value()) << "unexpectedly accepted";
  if (result) return Error{};
  EXPECT_EQ(result.error().code, ErrorCode::kValidationFailed);
  EXPECT_FALSE(result.error().message.empty());
  return result.error();
}

std::string repeat(std::string_view unit, int times) {
  std::string text;
  for (int i = 0; i < times; ++i) text += unit;
  return text;
}

// ---------------------------------------------------------------------------------------------

TEST(ValidateRegistration, AcceptsValidFormAndNormalisesValues) {
  const Registration registration = accepted(valid_form(12));
  EXPECT_EQ(registration.team_name, "Holy Strikers");
  EXPECT_EQ(registration.church_name, "St. Peter's Church");
  // Storage compares these keys and never normalises: validation fills them.
  EXPECT_EQ(registration.team_key, "holy strikers");
  EXPECT_EQ(registration.church_key, "st.peter'schurch");
  EXPECT_EQ(registration.captain.name, "John Mathew");
  EXPECT_EQ(registration.captain.phone, "9876543210");
  EXPECT_EQ(registration.captain.email, "john.mathew@example.com");
  EXPECT_EQ(registration.captain.whatsapp, "");
  EXPECT_EQ(registration.vice.name, "Anna-Marie D'Souza");
  EXPECT_EQ(registration.vice.phone, "9876543211");
  EXPECT_EQ(registration.vice.email, "anna@example.org");
  EXPECT_EQ(registration.vice.whatsapp, "9876543212");
  ASSERT_EQ(registration.players.size(), 12U);
  EXPECT_EQ(registration.players[0].name, "Player Aa");
  EXPECT_EQ(registration.players[0].role, "Batsman");
  EXPECT_EQ(registration.players[1].role, "");
  EXPECT_EQ(registration.players[11].name, "Player Al");
  ASSERT_EQ(registration.documents.size(), 1U);
  EXPECT_EQ(registration.documents[0].field, "pastor_letter");
  EXPECT_TRUE(registration.request_uuid.empty());
  EXPECT_TRUE(registration.request_id.empty());
  EXPECT_TRUE(registration.idempotency_key.empty());
  EXPECT_TRUE(registration.idempotency_fingerprint.empty());
}

TEST(ValidateRegistration, TrimsAllAsciiWhitespace) {
  Form form = valid_form();
  set_text(form, "captain_name", "\t John Mathew \r\n");
  set_text(form, "player_0_name", " \v\fPlayer Aa ");
  set_text(form, "player_0_role", "  Bowler\n");
  set_text(form, "vice_email", "  anna@example.org\t");
  const Registration registration = accepted(form);
  EXPECT_EQ(registration.captain.name, "John Mathew");
  EXPECT_EQ(registration.players[0].name, "Player Aa");
  EXPECT_EQ(registration.players[0].role, "Bowler");
  EXPECT_EQ(registration.vice.email, "anna@example.org");
}

TEST(ValidateRegistration, PlayersAreOrderedByIndexWhateverTheArrivalOrder) {
  Form form = valid_form(11);
  std::reverse(form.texts.begin(), form.texts.end());
  const Registration registration = accepted(form);
  ASSERT_EQ(registration.players.size(), 11U);
  for (int i = 0; i < 11; ++i) {
    EXPECT_EQ(registration.players[static_cast<std::size_t>(i)].name, player_name(i));
  }
}

TEST(ValidateRegistration, DocumentsAreTheReceivedFilesInArrivalOrder) {
  Form form = valid_form(11);
  form.files.insert(form.files.begin(), document("group_photo"));
  form.files.push_back(document("player_3_aadhar_file"));
  form.files.push_back(document("payment_receipt"));
  const Registration registration = accepted(form);
  ASSERT_EQ(registration.documents.size(), 4U);
  EXPECT_EQ(registration.documents[0].field, "group_photo");
  EXPECT_EQ(registration.documents[1].field, "pastor_letter");
  EXPECT_EQ(registration.documents[2].field, "player_3_aadhar_file");
  EXPECT_EQ(registration.documents[3].field, "payment_receipt");
  EXPECT_EQ(registration.documents[0].storage_key, form.files[0].storage_key);
  EXPECT_EQ(registration.documents[0].size_bytes, 1024U);
}

// --- required text fields ---------------------------------------------------------------------

class RequiredTextField : public ::testing::TestWithParam<std::string> {};

TEST_P(RequiredTextField, MissingIsRejectedNamingTheField) {
  Form form = valid_form();
  remove_field(form, GetParam());
  const Error error = rejected(form);
  EXPECT_EQ(error.field, GetParam());
  EXPECT_EQ(error.message, GetParam() + " is required");
}

TEST_P(RequiredTextField, WhitespaceOnlyIsRejectedNamingTheField) {
  Form form = valid_form();
  set_text(form, GetParam(), " \t ");
  EXPECT_EQ(rejected(form).field, GetParam());
}

INSTANTIATE_TEST_SUITE_P(AllRequired, RequiredTextField,
                         ::testing::Values("team_name", "church_name", "captain_name", "vice_name",
                                           "captain_phone", "vice_phone", "captain_email",
                                           "vice_email", "player_0_name", "player_10_name"));

TEST(ValidateRegistration, ReportsFirstFailureInApiTableOrder) {
  Form form = valid_form();
  set_text(form, "vice_whatsapp", "12");
  set_text(form, "vice_email", "bad");
  set_text(form, "captain_phone", "12");
  set_text(form, "vice_name", "x");
  EXPECT_EQ(rejected(form).field, "vice_name");
  set_text(form, "vice_name", "Vice Person");
  EXPECT_EQ(rejected(form).field, "captain_phone");
  set_text(form, "captain_phone", "9876543210");
  EXPECT_EQ(rejected(form).field, "vice_email");
  set_text(form, "vice_email", "vice@example.com");
  EXPECT_EQ(rejected(form).field, "vice_whatsapp");
}

// --- team_name --------------------------------------------------------------------------------

TEST(TeamName, LengthBoundaries) {
  Form form = valid_form();
  set_text(form, "team_name", "abc");
  EXPECT_EQ(accepted(form).team_name, "abc");
  set_text(form, "team_name", std::string(80, 'a'));
  EXPECT_EQ(accepted(form).team_name.size(), 80U);

  set_text(form, "team_name", "ab");
  Error error = rejected(form);
  EXPECT_EQ(error.field, "team_name");
  EXPECT_EQ(error.message, "team_name must be between 3 and 80 characters long (got 2)");
  set_text(form, "team_name", std::string(81, 'a'));
  EXPECT_EQ(rejected(form).field, "team_name");
}

TEST(TeamName, LengthIsTrimmedLength) {
  Form form = valid_form();
  set_text(form, "team_name", "   ab   ");
  EXPECT_EQ(rejected(form).field, "team_name");
}

TEST(TeamName, LengthCountsCodePointsNotBytes) {
  Form form = valid_form();
  // "é" is two bytes: 80 of them (160 bytes) is still 80 characters.
  set_text(form, "team_name", repeat("é", 80));
  EXPECT_EQ(accepted(form).team_name, repeat("é", 80));
  set_text(form, "team_name", repeat("é", 81));
  EXPECT_EQ(rejected(form).field, "team_name");
  // Three characters of three bytes each.
  set_text(form, "team_name", "அஆஇ");
  accepted(form);
}

TEST(TeamName, AllowedCharacters) {
  Form form = valid_form();
  for (const char* valid : {"Team 11", "St Mary's XI", "Alpha-Omega", "José Kings", "சிங்கங்கள்"}) {
    SCOPED_TRACE(valid);
    set_text(form, "team_name", valid);
    EXPECT_EQ(accepted(form).team_name, valid);
  }
  for (const char* invalid : {"Team.Eleven", "Team_Eleven", "Team & Co", "Team!", "Team\tX",
                              "Team\x01X", "Team\x7FX", "Team/X"}) {
    SCOPED_TRACE(invalid);
    set_text(form, "team_name", invalid);
    const Error error = rejected(form);
    EXPECT_EQ(error.field, "team_name");
    EXPECT_EQ(error.message,
              "team_name may only contain letters, digits, spaces, apostrophes and hyphens");
  }
}

// --- church_name ------------------------------------------------------------------------------

TEST(ChurchName, AcceptsFullStopsAndApostrophes) {
  Form form = valid_form();
  set_text(form, "church_name", "St. Peter's C.S.I. Church");
  EXPECT_EQ(accepted(form).church_name, "St. Peter's C.S.I. Church");
}

TEST(ChurchName, LengthBoundaries) {
  Form form = valid_form();
  set_text(form, "church_name", "abc");
  accepted(form);
  set_text(form, "church_name", std::string(100, 'a'));
  accepted(form);
  set_text(form, "church_name", "ab");
  EXPECT_EQ(rejected(form).field, "church_name");
  set_text(form, "church_name", std::string(101, 'a'));
  EXPECT_EQ(rejected(form).field, "church_name");
}

TEST(ChurchName, RejectsDigitsAndOtherPunctuation) {
  Form form = valid_form();
  for (const char* invalid : {"Church 2", "Church, Kochi", "Church (CSI)"}) {
    SCOPED_TRACE(invalid);
    set_text(form, "church_name", invalid);
    EXPECT_EQ(rejected(form).field, "church_name");
  }
}

// --- person names -----------------------------------------------------------------------------

class PersonNameField : public ::testing::TestWithParam<std::string> {};

TEST_P(PersonNameField, LengthBoundaries) {
  Form form = valid_form();
  set_text(form, GetParam(), "Abe");
  accepted(form);
  set_text(form, GetParam(), std::string(50, 'a'));
  accepted(form);
  set_text(form, GetParam(), "Ab");
  EXPECT_EQ(rejected(form).field, GetParam());
  set_text(form, GetParam(), std::string(51, 'a'));
  EXPECT_EQ(rejected(form).field, GetParam());
}

TEST_P(PersonNameField, AcceptsNamesInAnyScript) {
  Form form = valid_form();
  for (const char* valid : {"José Álvarez", "Zoë O'Brien", "Dr. K. Mathew", "முருகன்", "ജോസഫ് മാത്യു",
                            "ഫ്രാൻസിസ്", "Ñandú", "Jean-Luc"}) {
    SCOPED_TRACE(valid);
    set_text(form, GetParam(), valid);
    accepted(form);
  }
}

TEST_P(PersonNameField, RejectsDigitsAndSymbols) {
  Form form = valid_form();
  for (const char* invalid : {"John 3", "John_Smith", "John@Smith", "John, Jr", "<b>John</b>"}) {
    SCOPED_TRACE(invalid);
    set_text(form, GetParam(), invalid);
    const Error error = rejected(form);
    EXPECT_EQ(error.field, GetParam());
    EXPECT_EQ(
        error.message,
        GetParam() + " may only contain letters, spaces, apostrophes, hyphens and full stops");
  }
}

INSTANTIATE_TEST_SUITE_P(CaptainAndVice, PersonNameField,
                         ::testing::Values("captain_name", "vice_name"));

TEST(NameCharacters, MultiByteLengthIsCountedInCodePoints) {
  Form form = valid_form();
  // 50 Malayalam code points = 150 bytes.
  set_text(form, "captain_name", repeat("ജ", 50));
  accepted(form);
  set_text(form, "captain_name", repeat("ജ", 51));
  EXPECT_EQ(rejected(form).field, "captain_name");
  // Two 4-byte code points are two characters: too short for a captain, enough for a player.
  set_text(form, "captain_name", "𠜎𠜱");
  EXPECT_EQ(rejected(form).field, "captain_name");
  set_text(form, "captain_name", "John Mathew");
  set_text(form, "player_0_name", "𠜎𠜱");
  accepted(form);
}

TEST(NameCharacters, RejectsInvalidUtf8) {
  Form form = valid_form();
  for (const std::string& invalid : {
           std::string("Jos\xC3"),               // truncated sequence
           std::string("Jo\x80se"),              // stray continuation byte
           std::string("Jos\xC3\xA9\xA9"),       // extra continuation byte
           std::string("Jo\xC0\xAFse"),          // overlong '/'
           std::string("Jo\xE0\x80\xAFse"),      // overlong, three bytes
           std::string("Jo\xED\xA0\x80se"),      // UTF-16 surrogate
           std::string("Jo\xF4\x90\x80\x80se"),  // above U+10FFFF
           std::string("Jo\xFFse"),              // never valid
       }) {
    SCOPED_TRACE(::testing::PrintToString(invalid));
    set_text(form, "captain_name", invalid);
    const Error error = rejected(form);
    EXPECT_EQ(error.field, "captain_name");
    EXPECT_EQ(error.message, "captain_name is not valid UTF-8 text");
  }
}

TEST(NameCharacters, RejectsInvisibleAndControlCharacters) {
  Form form = valid_form();
  for (const char* invalid : {
           "John\u00A0Mathew",  // no-break space
           "John\u200BMathew",  // zero-width space
           "John\u202EMathew",  // right-to-left override
           "John\u200FMathew",  // right-to-left mark
           "John\u2066Mathew",  // left-to-right isolate
           "John\uFEFFMathew",  // byte order mark
           "John\u0085Mathew",  // C1 control (NEL)
           "John\u00ADMathew",  // soft hyphen
           "John\uE000Mathew",  // private use
           "John\nMathew",      // ASCII control
       }) {
    SCOPED_TRACE(invalid);
    set_text(form, "captain_name", invalid);
    EXPECT_EQ(rejected(form).field, "captain_name");
  }
  set_text(form, "captain_name", std::string("John\0Mathew", 11));  // embedded NUL
  EXPECT_EQ(rejected(form).field, "captain_name");
}

TEST(NameCharacters, KeepsJoinersThatIndicScriptsNeed) {
  Form form = valid_form();
  set_text(form, "captain_name", "അവന്\u200D Raj");  // ZWJ: old-style Malayalam chillu
  accepted(form);
  set_text(form, "captain_name", "क्\u200Cष Raj");  // ZWNJ
  accepted(form);
}

// --- phones -----------------------------------------------------------------------------------

class PhoneField : public ::testing::TestWithParam<std::string> {};

TEST_P(PhoneField, AcceptedFormsAreStoredAsTenDigits) {
  const std::string& field = GetParam();
  for (const char* valid : {"9876543210", "98765 43210", "+91 98765 43210", "+919876543210",
                            "+91 9876543210", " 98 76 54 32 10 ", "+ 91 98765 43210"}) {
    SCOPED_TRACE(valid);
    Form form = valid_form();
    set_text(form, field, valid);
    const Registration registration = accepted(form);
    const Person& person = field.starts_with("captain") ? registration.captain : registration.vice;
    const std::string& stored = field.ends_with("whatsapp") ? person.whatsapp : person.phone;
    EXPECT_EQ(stored, "9876543210");
  }
}

TEST_P(PhoneField, RejectsAnythingButTenDigits) {
  const std::string& field = GetParam();
  for (const char* invalid :
       {"987654321", "98765432101", "98765abcde", "+92 98765 43210", "919876543210", "09876543210",
        "98765-43210", "(98765) 43210", "+91-9876543210", "+91+9876543210", "９８７６５４３２１０",
        "98765\t43210", "+91"}) {
    SCOPED_TRACE(invalid);
    Form form = valid_form();
    set_text(form, field, invalid);
    const Error error = rejected(form);
    EXPECT_EQ(error.field, field);
    EXPECT_EQ(error.message, field + " must be 10 digits");
  }
}

INSTANTIATE_TEST_SUITE_P(AllPhones, PhoneField,
                         ::testing::Values("captain_phone", "vice_phone", "captain_whatsapp",
                                           "vice_whatsapp"));

TEST(Whatsapp, EmptyWhitespaceOrMissingMeansAbsent) {
  for (const char* blank : {"", "   ", "\t"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(blank)));
    Form form = valid_form();
    set_text(form, "captain_whatsapp", blank);
    set_text(form, "vice_whatsapp", blank);
    const Registration registration = accepted(form);
    EXPECT_EQ(registration.captain.whatsapp, "");
    EXPECT_EQ(registration.vice.whatsapp, "");
  }
  Form form = valid_form();
  remove_field(form, "captain_whatsapp");
  remove_field(form, "vice_whatsapp");
  EXPECT_EQ(accepted(form).vice.whatsapp, "");
}

// --- e-mails ----------------------------------------------------------------------------------

class EmailField : public ::testing::TestWithParam<std::string> {};

TEST_P(EmailField, AcceptsValidAddresses) {
  for (const char* valid :
       {"a@b.co", "john.mathew@example.com", "john+cricket@example.co.in", "o'brien@example.ie",
        "x_y-z@sub-domain.example.org", "!#$%&'*+/=?^_`{|}~-@example.com", "user@123.example.com",
        "user@xn--80ak6aa92e.com"}) {
    SCOPED_TRACE(valid);
    Form form = valid_form();
    set_text(form, GetParam(), valid);
    accepted(form);
  }
}

TEST_P(EmailField, RejectsInvalidAddresses) {
  const std::string long_local(65, 'a');
  const std::string long_label(64, 'a');
  for (const std::string& invalid : {std::string("plainaddress"),
                                     std::string("@example.com"),
                                     std::string("john@"),
                                     std::string("john@@example.com"),
                                     std::string("jo@hn@example.com"),
                                     std::string(".john@example.com"),
                                     std::string("john.@example.com"),
                                     std::string("jo..hn@example.com"),
                                     std::string("john@example"),
                                     std::string("john@example.c"),
                                     std::string("john@example.c0m"),
                                     std::string("john@-example.com"),
                                     std::string("john@example-.com"),
                                     std::string("john@example..com"),
                                     std::string("john@.example.com"),
                                     std::string("john@example.com."),
                                     std::string("john doe@example.com"),
                                     std::string("john@exam ple.com"),
                                     std::string("john@exam_ple.com"),
                                     std::string("\"john\"@example.com"),
                                     std::string("john(x)@example.com"),
                                     std::string("josé@example.com"),
                                     std::string("john@exämple.com"),
                                     std::string("john@[127.0.0.1]"),
                                     long_local + "@example.com",
                                     "john@" + long_label + ".com"}) {
    SCOPED_TRACE(invalid);
    Form form = valid_form();
    set_text(form, GetParam(), invalid);
    const Error error = rejected(form);
    EXPECT_EQ(error.field, GetParam());
    EXPECT_EQ(error.message, GetParam() + " must be a valid e-mail address");
  }
}

INSTANTIATE_TEST_SUITE_P(CaptainAndVice, EmailField,
                         ::testing::Values("captain_email", "vice_email"));

TEST(Email, LengthLimits) {
  Form form = valid_form();
  const std::string local64(64, 'a');
  set_text(form, "captain_email", local64 + "@example.com");
  accepted(form);
  const std::string label63(63, 'b');
  set_text(form, "captain_email", "a@" + label63 + ".com");
  accepted(form);
  // Exactly 254 bytes: "a@" + 3 × (63 + ".") + 56 + ".com" = 2 + 192 + 56 + 4.
  const std::string exactly_254 = "a@" + repeat(label63 + ".", 3) + std::string(56, 'c') + ".com";
  ASSERT_EQ(exactly_254.size(), 254U);
  set_text(form, "captain_email", exactly_254);
  accepted(form);
  const std::string over_254 = "a@" + repeat(label63 + ".", 3) + std::string(57, 'c') + ".com";
  set_text(form, "captain_email", over_254);
  EXPECT_EQ(rejected(form).field, "captain_email");
}

TEST(Email, StoredLowerCased) {
  Form form = valid_form();
  set_text(form, "captain_email", "  John.MATHEW+Team@Example.CO.IN ");
  set_text(form, "vice_email", "ANNA@EXAMPLE.ORG");
  const Registration registration = accepted(form);
  EXPECT_EQ(registration.captain.email, "john.mathew+team@example.co.in");
  EXPECT_EQ(registration.vice.email, "anna@example.org");
}

// --- players ----------------------------------------------------------------------------------

TEST(Players, CountBoundariesWithDefaultRules) {
  for (const int players : {11, 15}) {
    SCOPED_TRACE(players);
    EXPECT_EQ(accepted(valid_form(players)).players.size(), static_cast<std::size_t>(players));
  }
  Error error = rejected(valid_form(10));
  EXPECT_EQ(error.field, "players");
  EXPECT_EQ(error.message, "Between 11 and 15 players are required (got 10)");
  error = rejected(valid_form(16));
  EXPECT_EQ(error.field, "players");
  EXPECT_EQ(error.message, "Between 11 and 15 players are required (got 16)");
  error = rejected(valid_form(9));
  EXPECT_EQ(error.message, "Between 11 and 15 players are required (got 9)");
  error = rejected(valid_form(0));
  EXPECT_EQ(error.field, "players");
  EXPECT_EQ(error.message, "Between 11 and 15 players are required (got 0)");
}

TEST(Players, CountBoundariesWithCustomRules) {
  RegistrationRules rules;
  rules.min_players = 7;
  rules.max_players = 9;
  accepted(valid_form(7), rules);
  accepted(valid_form(9), rules);
  Error error = rejected(valid_form(6), rules);
  EXPECT_EQ(error.field, "players");
  EXPECT_EQ(error.message, "Between 7 and 9 players are required (got 6)");
  error = rejected(valid_form(10), rules);
  EXPECT_EQ(error.message, "Between 7 and 9 players are required (got 10)");

  rules.min_players = 11;
  rules.max_players = 11;
  accepted(valid_form(11), rules);
  error = rejected(valid_form(12), rules);
  EXPECT_EQ(error.field, "players");
  EXPECT_EQ(error.message, "Exactly 11 players are required (got 12)");

  rules.min_players = 1;
  rules.max_players = 100;
  EXPECT_EQ(accepted(valid_form(100), rules).players.size(), 100U);
}

TEST(Players, GapAfterContiguousRunNamesTheFieldPastTheGap) {
  // Players 0..10 then 12: eleven would be a valid count, but 11 is missing.
  Form form = valid_form(11);
  set_text(form, "player_12_name", "Late Comer");
  const Error error = rejected(form);
  EXPECT_EQ(error.field, "player_12_name");
  EXPECT_EQ(error.message,
            "player_12_name was sent without player_11_name; players must be numbered from 0 "
            "without gaps");
}

TEST(Players, RoleBeyondTheRunNamesTheRoleField) {
  Form form = valid_form(4);
  set_text(form, "player_5_role", "Bowler");
  const Error error = rejected(form);
  EXPECT_EQ(error.field, "player_5_role");
  EXPECT_EQ(error.message,
            "player_5_role was sent without player_4_name; players must be numbered from 0 "
            "without gaps");
}

TEST(Players, FileBeyondTheRunNamesTheFileField) {
  Form form = valid_form(11);
  form.files.push_back(document("player_13_subscription_file"));
  EXPECT_EQ(rejected(form).field, "player_13_subscription_file");
}

TEST(Players, GapReportsLowestIndexAndFieldsInNameRoleFileOrder) {
  Form form = valid_form(11);
  form.files.push_back(document("player_20_aadhar_file"));
  set_text(form, "player_14_role", "Bowler");
  form.files.push_back(document("player_14_aadhar_file"));
  EXPECT_EQ(rejected(form).field, "player_14_role");
}

TEST(Players, MissingFirstPlayerIsAGapToo) {
  Form form = valid_form(12);
  remove_field(form, "player_0_name");
  remove_field(form, "player_0_role");
  EXPECT_EQ(rejected(form).field, "player_1_name");
}

TEST(Players, RoleOrFileWithoutNameAtNextIndexNamesTheNameField) {
  Form form = valid_form(11);
  set_text(form, "player_11_role", "Bowler");
  Error error = rejected(form);
  EXPECT_EQ(error.field, "player_11_name");
  EXPECT_EQ(error.message, "player_11_name is required");

  form = valid_form(11);
  form.files.push_back(document("player_11_aadhar_file"));
  EXPECT_EQ(rejected(form).field, "player_11_name");

  // Player 4 still has a role, so its name is what is missing.
  form = valid_form(11);
  remove_field(form, "player_4_name");
  EXPECT_EQ(rejected(form).field, "player_4_name");

  // Player 5 is left with only an empty role, which carries nothing: 6 is then past a gap.
  form = valid_form(11);
  remove_field(form, "player_5_name");
  EXPECT_EQ(rejected(form).field, "player_6_name");
}

TEST(Players, GapIsReportedBeforeCount) {
  Form form = valid_form(5);
  set_text(form, "player_7_name", "Late Comer");
  EXPECT_EQ(rejected(form).field, "player_7_name");
}

TEST(Players, EmptyOptionalValuesBeyondTheRunAreIgnored) {
  Form form = valid_form(11);
  set_text(form, "player_11_role", "");
  set_text(form, "player_12_aadhar_file", "");
  set_text(form, "player_12_subscription_file", "  ");
  EXPECT_EQ(accepted(form).players.size(), 11U);
}

TEST(Players, EmptyNameAtNextIndexIsStillAName) {
  Form form = valid_form(11);
  set_text(form, "player_11_name", "   ");
  const Error error = rejected(form);
  EXPECT_EQ(error.field, "player_11_name");
  EXPECT_EQ(error.message, "player_11_name is required");
}

TEST(Players, NameLengthBoundaries) {
  Form form = valid_form();
  set_text(form, "player_3_name", "Al");
  accepted(form);
  set_text(form, "player_3_name", std::string(50, 'a'));
  accepted(form);
  set_text(form, "player_3_name", "A");
  Error error = rejected(form);
  EXPECT_EQ(error.field, "player_3_name");
  EXPECT_EQ(error.message, "player_3_name must be between 2 and 50 characters long (got 1)");
  set_text(form, "player_3_name", std::string(51, 'a'));
  EXPECT_EQ(rejected(form).field, "player_3_name");
  set_text(form, "player_3_name", "Jo");
  accepted(form);
  set_text(form, "player_3_name", "ஜோ");  // two code points, more than two bytes
  accepted(form);
}

TEST(Players, NameCharacters) {
  Form form = valid_form();
  set_text(form, "player_7_name", "K. O'Neil-Smith");
  accepted(form);
  set_text(form, "player_7_name", "Player 7");
  EXPECT_EQ(rejected(form).field, "player_7_name");
}

TEST(Players, FirstInvalidPlayerByIndexIsReported) {
  Form form = valid_form();
  set_text(form, "player_9_name", "X");
  set_text(form, "player_2_role", "Captain");
  set_text(form, "player_4_name", "Y");
  EXPECT_EQ(rejected(form).field, "player_2_role");
}

TEST(Players, Roles) {
  for (const char* role : {"Batsman", "Bowler", "All-Rounder", "Wicket-Keeper"}) {
    SCOPED_TRACE(role);
    Form form = valid_form();
    set_text(form, "player_1_role", std::string(" ") + role + " ");
    EXPECT_EQ(accepted(form).players[1].role, role);
  }
  Form form = valid_form();
  remove_field(form, "player_1_role");
  EXPECT_EQ(accepted(form).players[1].role, "");
  set_text(form, "player_1_role", " ");
  EXPECT_EQ(accepted(form).players[1].role, "");

  for (const char* invalid :
       {"batsman", "BOWLER", "All Rounder", "Allrounder", "Wicket Keeper", "Keeper", "Captain"}) {
    SCOPED_TRACE(invalid);
    set_text(form, "player_1_role", invalid);
    const Error error = rejected(form);
    EXPECT_EQ(error.field, "player_1_role");
    EXPECT_EQ(error.message,
              "player_1_role must be one of Batsman, Bowler, All-Rounder or Wicket-Keeper");
  }
}

// --- documents --------------------------------------------------------------------------------

TEST(Documents, PastorLetterIsAlwaysRequired) {
  Form form = valid_form();
  remove_field(form, "pastor_letter");
  const Error error = rejected(form);
  EXPECT_EQ(error.field, "pastor_letter");
  EXPECT_EQ(error.message, "pastor_letter is required");
}

TEST(Documents, PaymentReceiptAndGroupPhotoOptionalByDefault) {
  Form form = valid_form();
  accepted(form);
  form.files.push_back(document("payment_receipt"));
  form.files.push_back(document("group_photo"));
  EXPECT_EQ(accepted(form).documents.size(), 3U);
}

TEST(Documents, PaymentReceiptRequiredWhenRulesSaySo) {
  RegistrationRules rules;
  rules.require_payment_receipt = true;
  Form form = valid_form();
  const Error error = rejected(form, rules);
  EXPECT_EQ(error.field, "payment_receipt");
  EXPECT_EQ(error.message, "payment_receipt is required");
  form.files.push_back(document("payment_receipt"));
  accepted(form, rules);
}

TEST(Documents, GroupPhotoRequiredWhenRulesSaySo) {
  RegistrationRules rules;
  rules.require_group_photo = true;
  Form form = valid_form();
  EXPECT_EQ(rejected(form, rules).field, "group_photo");
  form.files.push_back(document("group_photo"));
  accepted(form, rules);
}

TEST(Documents, PlayerDocumentsOptionalByDefault) {
  Form form = valid_form(11);
  form.files.push_back(document("player_4_aadhar_file"));
  accepted(form);
}

TEST(Documents, PlayerDocumentsRequiredWhenRulesSaySo) {
  RegistrationRules rules;
  rules.require_player_documents = true;
  Form form = valid_form(11);
  add_player_documents(form, 11);
  EXPECT_EQ(accepted(form, rules).documents.size(), 23U);

  remove_field(form, "player_6_subscription_file");
  remove_field(form, "player_8_aadhar_file");
  const Error error = rejected(form, rules);
  EXPECT_EQ(error.field, "player_6_subscription_file");
  EXPECT_EQ(error.message, "player_6_subscription_file is required");

  form = valid_form(11);
  EXPECT_EQ(rejected(form, rules).field, "player_0_aadhar_file");
}

TEST(Documents, TeamDocumentsReportedBeforePlayerDocuments) {
  RegistrationRules rules;
  rules.require_player_documents = true;
  rules.require_group_photo = true;
  Form form = valid_form(11);
  EXPECT_EQ(rejected(form, rules).field, "group_photo");
}

TEST(Documents, DocumentSentAsTextIsRejected) {
  for (const char* field : {"pastor_letter", "payment_receipt", "player_2_aadhar_file"}) {
    SCOPED_TRACE(field);
    Form form = valid_form();
    if (std::string_view(field) == "pastor_letter") remove_field(form, field);
    set_text(form, field, "letter.pdf");
    const Error error = rejected(form);
    EXPECT_EQ(error.field, field);
    EXPECT_EQ(error.message, std::string(field) + " must be a file upload");
  }
}

TEST(Documents, EmptyTextForOptionalDocumentIsIgnored) {
  Form form = valid_form();
  set_text(form, "payment_receipt", "");
  set_text(form, "group_photo", " ");
  set_text(form, "player_0_aadhar_file", "");
  const Registration registration = accepted(form);
  ASSERT_EQ(registration.documents.size(), 1U);
  EXPECT_EQ(registration.documents[0].field, "pastor_letter");
}

TEST(Documents, EmptyTextForRequiredDocumentIsReportedAsMissing) {
  Form form = valid_form();
  remove_field(form, "pastor_letter");
  set_text(form, "pastor_letter", "");
  Error error = rejected(form);
  EXPECT_EQ(error.field, "pastor_letter");
  EXPECT_EQ(error.message, "pastor_letter is required");

  RegistrationRules rules;
  rules.require_player_documents = true;
  form = valid_form(11);
  add_player_documents(form, 11);
  remove_field(form, "player_3_aadhar_file");
  set_text(form, "player_3_aadhar_file", "");
  EXPECT_EQ(rejected(form, rules).field, "player_3_aadhar_file");
}

TEST(Documents, TextFieldSentAsFileIsRejected) {
  for (const char* field : {"team_name", "captain_whatsapp", "player_3_name", "player_3_role"}) {
    SCOPED_TRACE(field);
    Form form = valid_form();
    remove_field(form, field);
    form.files.push_back(document(field));
    const Error error = rejected(form);
    EXPECT_EQ(error.field, field);
    EXPECT_EQ(error.message, std::string(field) + " must be a text value, not a file upload");
  }
}

// --- form shape -------------------------------------------------------------------------------

TEST(FormShape, UnknownTextFieldIsRejected) {
  Form form = valid_form();
  set_text(form, "nickname", "Strikers");
  Error error = rejected(form);
  EXPECT_EQ(error.field, "nickname");
  EXPECT_EQ(error.message, "Unknown field nickname");
}

TEST(FormShape, UnknownFileFieldIsRejected) {
  Form form = valid_form();
  form.files.push_back(document("team_logo"));
  EXPECT_EQ(rejected(form).field, "team_logo");
}

TEST(FormShape, MalformedPlayerIndexesAreUnknown) {
  for (const char* field : {"player_01_name", "player_-1_name", "player_100_name", "player__name",
                            "player_1_age", "player_1", "Player_1_name", "player_1_name "}) {
    SCOPED_TRACE(field);
    Form form = valid_form();
    set_text(form, field, "Some One");
    EXPECT_EQ(rejected(form).field, field);
  }
}

TEST(FormShape, DuplicateTextFieldIsRejected) {
  Form form = valid_form();
  form.texts.emplace_back("captain_email", "other@example.com");
  const Error error = rejected(form);
  EXPECT_EQ(error.field, "captain_email");
  EXPECT_EQ(error.message, "captain_email was sent more than once");
}

TEST(FormShape, DuplicatePlayerFieldIsRejected) {
  Form form = valid_form();
  form.texts.emplace_back("player_3_name", "Someone Else");
  EXPECT_EQ(rejected(form).field, "player_3_name");
}

TEST(FormShape, DuplicateFileIsRejected) {
  Form form = valid_form();
  form.files.push_back(document("pastor_letter"));
  EXPECT_EQ(rejected(form).field, "pastor_letter");
}

TEST(FormShape, FieldInBothTextsAndFilesIsADuplicate) {
  Form form = valid_form();
  set_text(form, "pastor_letter", "");
  EXPECT_EQ(rejected(form).field, "pastor_letter");
}

TEST(FormShape, ShapeErrorsComeBeforeValueErrors) {
  Form form = valid_form();
  set_text(form, "team_name", "x");
  remove_field(form, "pastor_letter");
  set_text(form, "pastor_letter", "not a file");
  form.texts.emplace_back("zzz", "1");
  EXPECT_EQ(rejected(form).field, "zzz");
  form.texts.pop_back();
  EXPECT_EQ(rejected(form).field, "pastor_letter");
}

TEST(FormShape, UnknownAndDuplicateReportedInArrivalOrder) {
  Form form = valid_form();
  form.texts.insert(form.texts.begin(), {"team_name", "Another"});
  form.files.push_back(document("extra"));
  EXPECT_EQ(rejected(form).field, "team_name");
}

// --- classify_field ---------------------------------------------------------------------------

TEST(ClassifyField, FixedFields) {
  for (const char* field :
       {"team_name", "church_name", "captain_name", "vice_name", "captain_phone", "vice_phone",
        "captain_email", "vice_email", "captain_whatsapp", "vice_whatsapp"}) {
    EXPECT_EQ(classify_field(field), FieldKind::kText) << field;
  }
  for (const char* field : {"pastor_letter", "payment_receipt", "group_photo"}) {
    EXPECT_EQ(classify_field(field), FieldKind::kFile) << field;
  }
}

TEST(ClassifyField, PlayerFields) {
  EXPECT_EQ(classify_field("player_0_name"), FieldKind::kText);
  EXPECT_EQ(classify_field("player_9_role"), FieldKind::kText);
  EXPECT_EQ(classify_field("player_10_name"), FieldKind::kText);
  EXPECT_EQ(classify_field("player_99_role"), FieldKind::kText);
  EXPECT_EQ(classify_field("player_0_aadhar_file"), FieldKind::kFile);
  EXPECT_EQ(classify_field("player_99_subscription_file"), FieldKind::kFile);
}

TEST(ClassifyField, UnknownNames) {
  for (const char* field : {"",
                            "team",
                            "Team_Name",
                            "team_name ",
                            " team_name",
                            "player_01_name",
                            "player_00_name",
                            "player_-1_name",
                            "player_+1_name",
                            "player_100_name",
                            "player_999_name",
                            "player__name",
                            "player_1_",
                            "player_1",
                            "player_",
                            "player_x_name",
                            "player_1_name_",
                            "player_1_aadhar",
                            "player_1_file",
                            "player_1_subscription",
                            "players",
                            "pastor_letter_file",
                            "id"}) {
    EXPECT_EQ(classify_field(field), FieldKind::kUnknown) << '"' << field << '"';
  }
  EXPECT_EQ(classify_field(std::string_view("team_name\0", 10)), FieldKind::kUnknown);
}

// --- keys -------------------------------------------------------------------------------------

TEST(ChurchKey, LowerCasesAndRemovesAllWhitespace) {
  EXPECT_EQ(church_key("St. Peter's Church"), "st.peter'schurch");
  EXPECT_EQ(church_key("  ST.  PETER'S\tCHURCH \n"), "st.peter'schurch");
  EXPECT_EQ(church_key("St.Peter'sChurch"), church_key("st. peter's church"));
  EXPECT_EQ(church_key("Église São Tomé"), "Églisesãotomé");  // non-ASCII bytes untouched
  EXPECT_EQ(church_key(""), "");
  // A typographic apostrophe must not make a second church (and a second set of slots).
  EXPECT_EQ(church_key("St. Peter\xE2\x80\x99s Church"), church_key("St. Peter's Church"));
  EXPECT_EQ(team_key("Lions\xE2\x80\x99 Den"), team_key("Lions' Den"));
}

TEST(TeamKey, LowerCasesTrimsAndCollapsesWhitespace) {
  EXPECT_EQ(team_key("Holy Strikers"), "holy strikers");
  EXPECT_EQ(team_key("  HOLY   Strikers \t"), "holy strikers");
  EXPECT_EQ(team_key("Holy\t\nStrikers"), "holy strikers");
  EXPECT_NE(team_key("HolyStrikers"), team_key("Holy Strikers"));
  EXPECT_EQ(team_key("José XI"), "josé xi");
  EXPECT_EQ(team_key("   "), "");
}

}  // namespace
}  // namespace teamreg
