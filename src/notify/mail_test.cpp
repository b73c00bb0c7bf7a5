#include "notify/mail.hpp"

#include <gtest/gtest.h>

#include <map>

#include "notify/templates.hpp"
#include "notify/text.hpp"

namespace teamreg::notify {
namespace {

using namespace std::chrono;

// "St. Peter's Church" in Tamil and "St. Thomas Church" in Malayalam.
const std::string kTamilChurch = "தூய பேதுரு ஆலயம்";
const std::string kMalayalamChurch = "സെന്റ് തോമസ് പള്ളി";

MailMessage sample() {
  MailMessage m;
  m.from = {"ICCT26 Registrations", "noreply@icct26.org"};
  m.to = {"John Doe", "john@example.com"};
  m.cc = {{"Jim Roe", "jim@example.com"}};
  m.subject = "Registration received: Warriors (ICCT-007)";
  m.text = "Hello John,\nyour team ID is ICCT-007.\n";
  m.html = "<p>Hello John,</p>\n<p>your team ID is <strong>ICCT-007</strong>.</p>\n";
  m.message_id = make_message_id(7, "icct26.org");
  m.date = sys_days{2026y / December / 1} + 1h + 2min + 3s;
  return m;
}

std::string compose_ok(const MailMessage& message) {
  auto bytes = compose(message);
  EXPECT_TRUE(bytes.has_value()) << (bytes ? "" : bytes.error());
  return bytes ? *bytes : std::string();
}

/// The CRLF-separated lines of `bytes`; text ending in CRLF has an empty last line.
std::vector<std::string> crlf_lines(std::string_view bytes) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    const auto end = bytes.find("\r\n", start);
    if (end == std::string_view::npos) {
      lines.emplace_back(bytes.substr(start));
      return lines;
    }
    lines.emplace_back(bytes.substr(start, end - start));
    start = end + 2;
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Strict quoted-printable decoding: fails the test on anything a conforming encoder must not
/// produce (lower-case hex, bare "=", unencoded trailing blanks, long lines).
std::string decode_qp(std::string_view encoded) {
  std::string out;
  const auto lines = crlf_lines(encoded);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const std::string& line = lines[n];
    EXPECT_LE(line.size(), 76u) << line;
    const bool soft = !line.empty() && line.back() == '=';
    if (!soft && !line.empty()) {
      EXPECT_NE(line.back(), ' ') << "unencoded trailing space: " << line;
      EXPECT_NE(line.back(), '\t') << "unencoded trailing tab: " << line;
    }
    const std::size_t end = soft ? line.size() - 1 : line.size();
    for (std::size_t i = 0; i < end; ++i) {
      if (line[i] != '=') {
        EXPECT_TRUE(line[i] == ' ' || line[i] == '\t' || (line[i] > 32 && line[i] < 127));
        out += line[i];
        continue;
      }
      EXPECT_LE(i + 2, end) << line;
      const int hi = hex_value(line[i + 1]);
      const int lo = hex_value(line[i + 2]);
      EXPECT_TRUE(hi >= 0 && lo >= 0) << line;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (!soft && n + 1 < lines.size()) out += "\r\n";
  }
  return out;
}

std::string decode_base64(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    const auto value = kAlphabet.find(c);
    EXPECT_NE(value, std::string_view::npos) << text;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

/// Decodes a header value made of RFC 2047 B-words separated by folding whitespace; checks that
/// every word is within 75 characters and decodes to whole UTF-8 characters on its own.
std::string decode_words(std::string_view value) {
  std::string out;
  std::size_t start = 0;
  while (start < value.size()) {
    while (start < value.size() &&
           (value[start] == ' ' || value[start] == '\r' || value[start] == '\n')) {
      ++start;
    }
    if (start == value.size()) break;
    const auto end = value.find("?=", start + 10);
    EXPECT_NE(end, std::string_view::npos) << value;
    const auto word = value.substr(start, end + 2 - start);
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_TRUE(word.starts_with("=?UTF-8?B?")) << word;
    const std::string decoded = decode_base64(word.substr(10, word.size() - 12));
    EXPECT_TRUE(is_valid_utf8(decoded)) << "an encoded-word splits a character: " << word;
    out += decoded;
    start = end + 2;
  }
  return out;
}

struct Parsed {
  std::map<std::string, std::string> headers;  ///< unfolded values, names as written
  std::vector<std::string> header_order;
  std::string text_headers, html_headers;
  std::string text, html;  ///< decoded
};

Parsed parse(std::string_view bytes) {
  Parsed parsed;
  const auto split = bytes.find("\r\n\r\n");
  EXPECT_NE(split, std::string_view::npos);
  std::string current;
  for (const std::string& line : crlf_lines(bytes.substr(0, split))) {
    if (!line.empty() && line[0] == ' ') {
      current += "\r\n" + line;
      continue;
    }
    if (!current.empty()) {
      const auto colon = current.find(": ");
      parsed.headers[current.substr(0, colon)] = current.substr(colon + 2);
      parsed.header_order.push_back(current.substr(0, colon));
    }
    current = line;
  }
  const auto colon = current.find(": ");
  parsed.headers[current.substr(0, colon)] = current.substr(colon + 2);
  parsed.header_order.push_back(current.substr(0, colon));

  const std::string& type = parsed.headers["Content-Type"];
  const auto quote = type.find("boundary=\"");
  EXPECT_NE(quote, std::string::npos);
  const std::string boundary = type.substr(quote + 10, type.find('"', quote + 10) - (quote + 10));
  const std::string body(bytes.substr(split + 4));
  const std::string delimiter = "--" + boundary + "\r\n";
  const std::string close = "\r\n--" + boundary + "--\r\n";
  EXPECT_TRUE(body.starts_with(delimiter));
  EXPECT_TRUE(body.ends_with(close));
  const auto second = body.find("\r\n" + delimiter);
  EXPECT_NE(second, std::string::npos);
  const auto part = [&](std::string_view whole, std::string& headers, std::string& decoded) {
    const auto gap = whole.find("\r\n\r\n");
    headers = std::string(whole.substr(0, gap));
    decoded = decode_qp(whole.substr(gap + 4));
  };
  part(std::string_view(body).substr(delimiter.size(), second - delimiter.size()),
       parsed.text_headers, parsed.text);
  const auto html_start = second + 2 + delimiter.size();
  part(std::string_view(body).substr(html_start, body.size() - close.size() - html_start),
       parsed.html_headers, parsed.html);
  return parsed;
}

std::string crlf(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(MailTest, AsciiMessageHasEveryHeaderAndBothPartsInOrder) {
  const std::string bytes = compose_ok(sample());
  const Parsed m = parse(bytes);
  EXPECT_EQ(m.headers.at("Date"), "Tue, 01 Dec 2026 01:02:03 +0000");
  EXPECT_EQ(m.headers.at("From"), "ICCT26 Registrations <noreply@icct26.org>");
  EXPECT_EQ(m.headers.at("To"), "John Doe <john@example.com>");
  EXPECT_EQ(m.headers.at("Cc"), "Jim Roe <jim@example.com>");
  EXPECT_EQ(m.headers.at("Subject"), "Registration received: Warriors (ICCT-007)");
  EXPECT_EQ(m.headers.at("Message-ID"), "<teamreg.outbox.7@icct26.org>");
  EXPECT_EQ(m.headers.at("MIME-Version"), "1.0");
  EXPECT_EQ(m.headers.at("Auto-Submitted"), "auto-generated");
  EXPECT_TRUE(m.headers.at("Content-Type").starts_with("multipart/alternative;"));
  EXPECT_EQ(m.headers.count("Reply-To"), 0u);
  EXPECT_EQ(m.text_headers,
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: "
            "quoted-printable");
  EXPECT_EQ(m.html_headers,
            "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: "
            "quoted-printable");
  EXPECT_EQ(m.text, crlf(sample().text));
  EXPECT_EQ(m.html, crlf(sample().html));
}

TEST(MailTest, EveryLineEndsInCrlfAndStaysShort) {
  MailMessage message = sample();
  message.text = std::string(2000, 'x') + "\n" + std::string(300, ' ') + "end\r" + "mac\r\n";
  message.html = "<p>" + std::string(1500, 'y') + "</p>";
  message.cc.push_back({"Third Person", "third@example.com"});
  message.cc.push_back({"Fourth Person", "fourth@example.com"});
  const std::string bytes = compose_ok(message);
  ASSERT_TRUE(bytes.ends_with("\r\n"));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n') {
      EXPECT_TRUE(i > 0 && bytes[i - 1] == '\r') << "bare LF at " << i;
    }
    if (bytes[i] == '\r') {
      EXPECT_TRUE(i + 1 < bytes.size() && bytes[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  for (const std::string& line : crlf_lines(bytes)) EXPECT_LE(line.size(), 78u) << line;
  const Parsed m = parse(bytes);
  EXPECT_EQ(m.text, std::string(2000, 'x') + "\r\n" + std::string(300, ' ') + "end\r\nmac\r\n");
  EXPECT_EQ(m.html, message.html);
  EXPECT_EQ(m.headers.at("Cc"),
            "Jim Roe <jim@example.com>,\r\n Third Person <third@example.com>,\r\n Fourth Person "
            "<fourth@example.com>");
}

TEST(MailTest, NonAsciiSubjectBecomesEncodedWordsThatDecodeBack) {
  for (const std::string& church : {kTamilChurch, kMalayalamChurch}) {
    MailMessage message = sample();
    message.subject = "Registration received: " + church + " (ICCT-007) — " + church;
    const std::string bytes = compose_ok(message);
    const Parsed m = parse(bytes);
    const std::string& subject = m.headers.at("Subject");
    EXPECT_TRUE(subject.starts_with("=?UTF-8?B?")) << subject;
    EXPECT_NE(subject.find("\r\n "), std::string::npos) << "long subject must be folded";
    EXPECT_EQ(decode_words(subject), message.subject);
    for (const std::string& line : crlf_lines(bytes.substr(0, bytes.find("\r\n\r\n")))) {
      EXPECT_LE(line.size(), 78u) << line;
      for (const char c : line) EXPECT_TRUE(c >= 32 && c < 127) << "8-bit header byte";
    }
  }
}

TEST(MailTest, NonAsciiBodiesAreQuotedPrintableUtf8) {
  MailMessage message = sample();
  message.text = "Church: " + kTamilChurch + "\nChurch: " + kMalayalamChurch + "\n";
  message.html = "<p>" + kTamilChurch + "</p>";
  const std::string bytes = compose_ok(message);
  for (const char c : bytes) EXPECT_TRUE(c == '\r' || c == '\n' || (c >= 32 && c < 127));
  const Parsed m = parse(bytes);
  EXPECT_EQ(m.text, crlf(message.text));
  EXPECT_EQ(m.html, message.html);
}

TEST(MailTest, DisplayNamesAreAtomsQuotedStringsOrEncodedWords) {
  MailMessage message = sample();
  message.to = {"Seán O'Brien", "sean@example.com"};
  message.cc = {{"St. Peter's Youth", "youth@example.com"},
                {"Say \"hi\" \\ bye", "hi@example.com"},
                {"Plain O'Brien", "ob@example.com"},
                {"=?UTF-8?B?looks-encoded?=", "trick@example.com"}};
  message.reply_to = Mailbox{"", "office@icct26.org"};
  const Parsed m = parse(compose_ok(message));
  const std::string& to = m.headers.at("To");
  ASSERT_TRUE(to.ends_with(" <sean@example.com>")) << to;
  EXPECT_EQ(decode_words(to.substr(0, to.size() - 19)), "Seán O'Brien");
  EXPECT_EQ(m.headers.at("Reply-To"), "office@icct26.org");
  const std::string& cc = m.headers.at("Cc");
  EXPECT_NE(cc.find("\"St. Peter's Youth\" <youth@example.com>"), std::string::npos) << cc;
  EXPECT_NE(cc.find(R"("Say \"hi\" \\ bye" <hi@example.com>)"), std::string::npos) << cc;
  EXPECT_NE(cc.find("Plain O'Brien <ob@example.com>"), std::string::npos) << cc;
  EXPECT_EQ(cc.find("=?UTF-8?B?looks-encoded?= <"), std::string::npos)
      << "text that looks like an encoded-word must not be taken for one: " << cc;
}

TEST(MailTest, MarkupInANameIsEscapedInHtmlAndIntactInText) {
  const MailTemplates templates = MailTemplates::builtin();
  TeamMailData data;
  data.team_id = "ICCT-007";
  data.team_name = "O'Brien <b>x</b> & co";
  data.church_name = kTamilChurch;
  data.captain_name = "O'Brien <b>x</b> & co";
  data.vice_name = "Jim Roe";
  data.players = {{"O'Brien <b>x</b> & co", "Batsman"}, {"Anne", ""}};
  const RenderedMail rendered = templates.render(MailKind::kReceived, data);
  MailMessage message = sample();
  message.subject = rendered.subject;
  message.text = rendered.text;
  message.html = rendered.html;
  const Parsed m = parse(compose_ok(message));
  EXPECT_EQ(m.headers.at("Subject"), "Registration received: O'Brien <b>x</b> & co (ICCT-007)");
  EXPECT_NE(m.text.find("O'Brien <b>x</b> & co"), std::string::npos);
  EXPECT_EQ(m.text.find("&amp;"), std::string::npos);
  EXPECT_NE(m.html.find("O&#39;Brien &lt;b&gt;x&lt;/b&gt; &amp; co"), std::string::npos);
  EXPECT_EQ(m.html.find("<b>x</b>"), std::string::npos);
  EXPECT_NE(m.text.find(kTamilChurch), std::string::npos);
  EXPECT_NE(m.html.find(kTamilChurch), std::string::npos);
}

TEST(MailTest, LineBreaksInHeaderValuesAreRefusedWithoutEchoingTheValue) {
  const auto refused = [](MailMessage message, std::string_view header) {
    auto bytes = compose(message);
    ASSERT_FALSE(bytes.has_value()) << "accepted: " << *bytes;
    EXPECT_NE(bytes.error().find(header), std::string::npos) << bytes.error();
    EXPECT_EQ(bytes.error().find("evil"), std::string::npos) << bytes.error();
  };
  for (const std::string& injection : std::vector<std::string>{
           "\r\nBcc: evil@attacker.org", "\nBcc: evil@attacker.org", "\rBcc: evil@attacker.org",
           "\r\n\r\n<p>evil body</p>", std::string("nul\0evil", 8), "tab\tevil"}) {
    MailMessage message = sample();
    message.subject = "Hello" + injection;
    refused(message, "Subject");
    message = sample();
    message.to.display_name = "John" + injection;
    refused(message, "To display name");
    message = sample();
    message.from.display_name = "ICCT" + injection;
    refused(message, "From display name");
    message = sample();
    message.cc[0].display_name = "Jim" + injection;
    refused(message, "Cc[0] display name");
    message = sample();
    message.reply_to = Mailbox{"Office" + injection, "office@icct26.org"};
    refused(message, "Reply-To display name");
    message = sample();
    message.to.address = "john@example.com" + injection;
    refused(message, "To address");
    message = sample();
    message.cc[0].address = "jim@example.com" + injection;
    refused(message, "Cc[0] address");
    message = sample();
    message.from.address = "noreply@icct26.org" + injection;
    refused(message, "From address");
    message = sample();
    message.message_id = "<teamreg.outbox.7@icct26.org>" + injection;
    refused(message, "Message-ID");
  }
  MailMessage message = sample();
  message.to.address = "john@example.com\r\nRCPT TO:<evil@attacker.org>";
  const auto error = compose(message).error();
  EXPECT_NE(error.find("CR or LF"), std::string::npos) << error;
}

TEST(MailTest, AddressesAreOnlyPlainDotAtoms) {
  EXPECT_TRUE(is_sendable_address("john@example.com"));
  EXPECT_TRUE(is_sendable_address("o'brien+icct@mail.example.co.in"));
  EXPECT_TRUE(is_sendable_address("a@localhost"));
  for (const std::string_view bad :
       {"", "john", "@example.com", "john@", "john@@example.com", "jo hn@example.com",
        "<john@example.com>", "john@example.com>", "john@exa_mple.com", "john@-example.com",
        ".john@example.com", "jo..hn@example.com", "\"john\"@example.com", "john@[127.0.0.1]",
        "jöhn@example.com", "john@example.com,evil@attacker.org", "john@example.com evil"}) {
    EXPECT_FALSE(is_sendable_address(bad)) << bad;
  }
  MailMessage message = sample();
  message.cc[0].address = "jim@example.com, evil@attacker.org";
  EXPECT_FALSE(compose(message).has_value());
}

TEST(MailTest, MessageIdAndDateFormats) {
  EXPECT_EQ(make_message_id(42, "icct26.org"), "<teamreg.outbox.42@icct26.org>");
  EXPECT_EQ(address_domain("noreply@icct26.org"), "icct26.org");
  EXPECT_EQ(address_domain("nobody"), "");
  EXPECT_EQ(format_rfc5322_date(sys_days{2026y / December / 1} + 1h + 2min + 3s),
            "Tue, 01 Dec 2026 01:02:03 +0000");
  EXPECT_EQ(format_rfc5322_date(sys_days{2000y / February / 29} + 23h + 59min + 59s + 999ms),
            "Tue, 29 Feb 2000 23:59:59 +0000");
  EXPECT_EQ(format_rfc5322_date(sys_days{1970y / January / 1}), "Thu, 01 Jan 1970 00:00:00 +0000");
  MailMessage message = sample();
  message.message_id = "teamreg.outbox.7@icct26.org";
  EXPECT_FALSE(compose(message).has_value());
  message.message_id = "<no-domain>";
  EXPECT_FALSE(compose(message).has_value());
  message.message_id = make_message_id(7, "bad domain");
  EXPECT_FALSE(compose(message).has_value());
}

TEST(MailTest, SameMessageSameBytesAndTheBoundaryFollowsTheMessageId) {
  EXPECT_EQ(compose_ok(sample()), compose_ok(sample()));
  MailMessage other = sample();
  other.message_id = make_message_id(8, "icct26.org");
  const Parsed a = parse(compose_ok(sample()));
  const Parsed b = parse(compose_ok(other));
  EXPECT_NE(a.headers.at("Content-Type"), b.headers.at("Content-Type"));
}

TEST(MailTest, AsciiSubjectsFoldAtSpacesAndLookalikesAreEncoded) {
  MailMessage message = sample();
  message.subject =
      "A very long subject line that goes on and on well past the seventy-eight column limit "
      "of RFC 5322 so it has to be folded";
  Parsed m = parse(compose_ok(message));
  std::string subject = m.headers.at("Subject");
  EXPECT_NE(subject.find("\r\n "), std::string::npos);
  std::string unfolded;
  for (std::size_t i = 0; i < subject.size(); ++i) {
    if (subject.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    unfolded += subject[i];
  }
  EXPECT_EQ(unfolded, message.subject);

  message.subject = "=?UTF-8?B?SGk=?= is not an encoded word here";
  m = parse(compose_ok(message));
  EXPECT_EQ(decode_words(m.headers.at("Subject")), message.subject);

  message.subject = std::string(120, 'z');
  m = parse(compose_ok(message));
  EXPECT_EQ(decode_words(m.headers.at("Subject")), message.subject);
}

TEST(MailTest, InvalidUtf8IsRefused) {
  MailMessage message = sample();
  message.subject = "bad \xc3\x28";
  EXPECT_FALSE(compose(message).has_value());
  message = sample();
  message.text = "overlong \xc0\xaf";
  EXPECT_FALSE(compose(message).has_value());
  message = sample();
  message.to.display_name = "surrogate \xed\xa0\x80";
  EXPECT_FALSE(compose(message).has_value());
}

TEST(MailTest, QuotedPrintableEdgeCases) {
  EXPECT_EQ(quoted_printable("a=b"), "a=3Db");
  EXPECT_EQ(quoted_printable("trailing space \nnext"), "trailing space=20\r\nnext");
  EXPECT_EQ(quoted_printable("tab\t"), "tab=09");
  EXPECT_EQ(quoted_printable("From here\nFrom there"), "=46rom here\r\n=46rom there");
  EXPECT_EQ(quoted_printable(".\n..x"), ".\r\n..x") << "dot-stuffing is libcurl's job";
  EXPECT_EQ(quoted_printable("é"), "=C3=A9");
  EXPECT_EQ(quoted_printable(""), "");
  // 76 characters fit a line; one more needs a soft break (and room for its "=").
  EXPECT_EQ(quoted_printable(std::string(76, 'a') + "\nb"), std::string(76, 'a') + "\r\nb");
  EXPECT_EQ(quoted_printable(std::string(77, 'a')), std::string(75, 'a') + "=\r\naa");
  // A 74-character run then "=" encoded: the escape moves to the next line whole.
  const std::string encoded = quoted_printable(std::string(74, 'a') + "==");
  EXPECT_EQ(encoded, std::string(74, 'a') + "=\r\n=3D=3D");
  const std::string long_utf8 = [] {
    std::string s;
    for (int i = 0; i < 40; ++i) s += kMalayalamChurch;
    return s;
  }();
  EXPECT_EQ(decode_qp(quoted_printable(long_utf8)), long_utf8);
}

TEST(MailTest, EncodedWordsNeverSplitACharacter) {
  std::string mixed;
  for (int i = 0; i < 30; ++i) mixed += "a" + kTamilChurch + "😀";
  const std::string words = encode_words(mixed, 9);
  EXPECT_EQ(decode_words(words), mixed);
  const auto lines = crlf_lines(words);
  ASSERT_GT(lines.size(), 1u);
  EXPECT_LE(lines[0].size() + 9, 78u);
  for (const std::string& line : lines) EXPECT_LE(line.size(), 78u);
}

TEST(MailTest, ParseMailboxTakesAnAddressOrANameWithAnAddress) {
  auto plain = parse_mailbox(" noreply@icct26.example.org ");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->address, "noreply@icct26.example.org");
  EXPECT_EQ(plain->display_name, "");
  auto named = parse_mailbox("ICCT26 Registrations <noreply@icct26.example.org>");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->address, "noreply@icct26.example.org");
  EXPECT_EQ(named->display_name, "ICCT26 Registrations");
  EXPECT_FALSE(parse_mailbox(""));
  EXPECT_FALSE(parse_mailbox("not an address"));
  EXPECT_FALSE(parse_mailbox("Name <noreply@example.org"));
  EXPECT_FALSE(parse_mailbox("Bad\r\nBcc: x@y.org <noreply@example.org>"));
  EXPECT_FALSE(parse_mailbox("\"Quoted\" <noreply@example.org>"));
  EXPECT_FALSE(parse_mailbox("noreply@example.org\r\nBcc: x@y.org"));
}

}  // namespace
}  // namespace teamreg::notify
