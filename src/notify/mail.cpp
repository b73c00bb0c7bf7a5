#include "notify/mail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>

#include "notify/text.hpp"

namespace teamreg::notify {
namespace {

// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters; RFC 2047 §2: an encoded-word at most 75.
constexpr std::size_t kLineLength = 78;
constexpr std::size_t kEncodedWordLength = 75;
constexpr std::string_view kEncodedWordPrefix = "=?UTF-8?B?";
constexpr std::string_view kEncodedWordSuffix = "?=";
// RFC 2045 §6.7 rule 5: at most 76 characters per encoded line, the soft-break "=" included.
constexpr std::size_t kQuotedPrintableLength = 76;
// RFC 5321 §4.5.3.1: the longest address a server must accept, and its longest local part.
constexpr std::size_t kMaxAddressBytes = 254;
constexpr std::size_t kMaxLocalPartBytes = 64;
constexpr std::string_view kAtextPunctuation = "!#$%&'*+-/=?^_`{|}~";

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_atext(char c) {
  return is_ascii_alnum(c) || kAtextPunctuation.find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  if (text.find("..") != std::string_view::npos) return false;
  for (const char c : text) {
    if (!is_atext(c) && c != '.') return false;
  }
  return true;
}

bool is_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = domain.find('.', start);
    const auto label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (!is_ascii_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_printable_ascii(std::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/// 64-bit FNV-1a: a stable, dependency-free digest for the MIME boundary (not a security hash).
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

/// An ASCII header value folded at its spaces so lines stay within 78 characters where a word
/// allows. Folding only inserts CRLF before an existing space, so unfolding restores the value.
std::string fold_ascii(std::string_view value, std::size_t first_line_used) {
  std::string out;
  std::size_t line = first_line_used;
  bool first = true;
  bool line_has_word = false;
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto space = value.find(' ', start);
    const auto word = value.substr(start, space == std::string_view::npos ? space : space - start);
    if (first) {
      out += word;
      line += word.size();
      line_has_word = !word.empty();
      first = false;
    } else if (!word.empty() && line_has_word && line + 1 + word.size() > kLineLength) {
      out += "\r\n ";
      out += word;
      line = 1 + word.size();
    } else {
      out += ' ';
      out += word;
      line += 1 + word.size();
      line_has_word = line_has_word || !word.empty();
    }
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return out;
}

std::size_t longest_word(std::string_view value) {
  std::size_t longest = 0;
  std::size_t current = 0;
  for (const char c : value) {
    current = c == ' ' ? 0 : current + 1;
    longest = std::max(longest, current);
  }
  return longest;
}

/// Unstructured text (Subject): as is when it is plain, foldable ASCII; else encoded-words.
std::string unstructured(std::string_view value, std::size_t first_line_used) {
  if (is_printable_ascii(value) && value.find("=?") == std::string_view::npos &&
      longest_word(value) + first_line_used <= kLineLength) {
    return fold_ascii(value, first_line_used);
  }
  return encode_words(value, first_line_used);
}

/// A display name as an RFC 5322 phrase: atoms as they are, other ASCII as a quoted-string,
/// anything else (non-ASCII, or text that looks like an encoded-word) as encoded-words.
std::string phrase(std::string_view name, std::size_t first_line_used) {
  if (!is_printable_ascii(name) || name.find("=?") != std::string_view::npos) {
    return encode_words(name, first_line_used);
  }
  bool atoms = !name.empty() && name.front() != ' ' && name.back() != ' ' &&
               name.find("  ") == std::string_view::npos;
  for (const char c : name) atoms = atoms && (is_atext(c) || c == ' ');
  if (atoms) return std::string(name);
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string mailbox(const Mailbox& box, std::size_t first_line_used) {
  if (box.display_name.empty()) return box.address;
  return fmt::format("{} <{}>", phrase(box.display_name, first_line_used), box.address);
}

std::optional<std::string> check_header_text(std::string_view what, std::string_view value) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return fmt::format("{} contains a control character (CR/LF and the like are refused)", what);
    }
  }
  if (!is_valid_utf8(value)) return fmt::format("{} is not valid UTF-8", what);
  return std::nullopt;
}

std::optional<std::string> check_mailbox(std::string_view what, const Mailbox& box) {
  if (auto error = check_header_text(fmt::format("{} display name", what), box.display_name)) {
    return error;
  }
  if (!is_sendable_address(box.address)) {
    // Says why when it is an injection attempt; the value itself may be personal data.
    for (const char c : box.address) {
      if (c == '\r' || c == '\n') {
        return fmt::format("{} address contains CR or LF (refused)", what);
      }
    }
    return fmt::format("{} address is not a sendable address", what);
  }
  return std::nullopt;
}

bool is_message_id(std::string_view id) {
  if (id.size() < 5 || id.front() != '<' || id.back() != '>') return false;
  const auto inner = id.substr(1, id.size() - 2);
  const auto at = inner.find('@');
  if (at == std::string_view::npos) return false;
  return is_dot_atom(inner.substr(0, at)) && is_domain(inner.substr(at + 1));
}

std::optional<std::string> check_message(const MailMessage& message) {
  if (auto error = check_mailbox("From", message.from)) return error;
  if (message.reply_to) {
    if (auto error = check_mailbox("Reply-To", *message.reply_to)) return error;
  }
  if (auto error = check_mailbox("To", message.to)) return error;
  for (std::size_t i = 0; i < message.cc.size(); ++i) {
    if (auto error = check_mailbox(fmt::format("Cc[{}]", i), message.cc[i])) return error;
  }
  if (auto error = check_header_text("Subject", message.subject)) return error;
  if (!is_message_id(message.message_id)) return "Message-ID is not of the form <left@domain>";
  if (!is_valid_utf8(message.text)) return "text part is not valid UTF-8";
  if (!is_valid_utf8(message.html)) return "HTML part is not valid UTF-8";
  return std::nullopt;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

std::string address_list(std::string_view header, const std::vector<Mailbox>& boxes) {
  std::string value;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    // One mailbox per line keeps every line short however many recipients there are.
    if (i > 0) value += ",\r\n ";
    value += mailbox(boxes[i], i == 0 ? header.size() + 2 : 1);
  }
  return value;
}

void append_part(std::string& out, std::string_view boundary, std::string_view type,
                 std::string_view body) {
  out += fmt::format(
      "--{}\r\nContent-Type: {}; charset=UTF-8\r\nContent-Transfer-Encoding: "
      "quoted-printable\r\n\r\n",
      boundary, type);
  out += quoted_printable(body);
  out += "\r\n";
}

}  // namespace

std::string make_message_id(std::int64_t outbox_id, std::string_view domain) {
  return fmt::format("<teamreg.outbox.{}@{}>", outbox_id, domain);
}

std::string_view address_domain(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

std::optional<Mailbox> parse_mailbox(std::string_view text) {
  const auto trim = [](std::string_view v) {
    const auto first = v.find_first_not_of(" \t");
    if (first == std::string_view::npos) return std::string_view();
    return v.substr(first, v.find_last_not_of(" \t") - first + 1);
  };
  text = trim(text);
  Mailbox box;
  if (!text.empty() && text.back() == '>') {
    const auto open = text.rfind('<');
    if (open == std::string_view::npos) return std::nullopt;
    box.address = std::string(text.substr(open + 1, text.size() - open - 2));
    box.display_name = std::string(trim(text.substr(0, open)));
    for (const char c : box.display_name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"') {
        return std::nullopt;
      }
    }
  } else {
    box.address = std::string(text);
  }
  if (!is_sendable_address(box.address)) return std::nullopt;
  return box;
}

bool is_sendable_address(std::string_view address) {
  if (address.size() > kMaxAddressBytes) return false;
  const auto at = address.find('@');
  if (at == std::string_view::npos) return false;
  if (at > kMaxLocalPartBytes) return false;
  return is_dot_atom(address.substr(0, at)) && is_domain(address.substr(at + 1));
}

std::string format_rfc5322_date(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{floor<seconds>(time - day)};
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[weekday{day}.c_encoding()],
                     static_cast<unsigned>(date.day()),
                     kMonths[static_cast<unsigned>(date.month()) - 1],
                     static_cast<int>(date.year()), clock.hours().count(), clock.minutes().count(),
                     clock.seconds().count());
}

std::string encode_words(std::string_view value, std::size_t first_line_used) {
  const std::size_t overhead = kEncodedWordPrefix.size() + kEncodedWordSuffix.size();
  // Base64 turns 3 bytes into 4 characters; a word takes whole groups of 3 bytes at most.
  const auto max_bytes = [&](std::size_t line_used) {
    const std::size_t line_left = line_used < kLineLength ? kLineLength - line_used : 0;
    const std::size_t room = std::min(kEncodedWordLength, line_left);
    // At least one character per word, even where the line is already long.
    return room > overhead + 4 ? (room - overhead) / 4 * 3 : std::size_t{3};
  };
  std::string out;
  std::size_t limit = max_bytes(first_line_used);
  std::size_t start = 0;
  while (start < value.size() || out.empty()) {
    std::size_t end = start;
    while (end < value.size()) {
      const std::size_t length = utf8_sequence_length(value, end);
      if (end + length - start > limit && end > start) break;
      end += length;
    }
    if (!out.empty()) out += "\r\n ";
    out += kEncodedWordPrefix;
    out += base64(value.substr(start, end - start));
    out += kEncodedWordSuffix;
    start = end;
    limit = max_bytes(1);
    if (value.empty()) break;
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t column = 0;
  const auto emit = [&](std::string_view token, bool last_on_line) {
    // A line that continues needs room for the "=" of its soft break; the last token does not.
    const std::size_t limit = last_on_line ? kQuotedPrintableLength : kQuotedPrintableLength - 1;
    if (column + token.size() > limit) {
      out += "=\r\n";
      column = 0;
    }
    out += token;
    column += token.size();
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {
      i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      out += "\r\n";
      column = 0;
      continue;
    }
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    const auto byte = static_cast<unsigned char>(c);
    // "From " at a line start is encoded so an mbox-style relay cannot rewrite it to ">From ".
    const bool from_line = column == 0 && text.substr(i, 5) == "From ";
    const bool literal = ((c == ' ' || c == '\t') && !line_end) ||
                         (byte >= 33 && byte <= 126 && c != '=' && !from_line);
    if (literal) {
      emit(std::string_view(&text[i], 1), line_end);
    } else {
      const std::array<char, 3> escaped = {'=', kHex[byte >> 4], kHex[byte & 0x0f]};
      emit(std::string_view(escaped.data(), escaped.size()), line_end);
    }
    ++i;
  }
  return out;
}

tl::expected<std::string, std::string> compose(const MailMessage& message) {
  if (auto error = check_message(message)) return tl::make_unexpected(std::move(*error));

  // "=_" never occurs in quoted-printable output ("=" is always followed by hex digits or a
  // line break), so this boundary cannot collide with a body line.
  const std::string boundary = fmt::format("=_teamreg_{:016x}", fnv1a(message.message_id));

  std::string out;
  out.reserve(message.text.size() + message.html.size() + 2048);
  append_header(out, "Date", format_rfc5322_date(message.date));
  append_header(out, "From", mailbox(message.from, 6));
  if (message.reply_to) append_header(out, "Reply-To", mailbox(*message.reply_to, 10));
  append_header(out, "To", mailbox(message.to, 4));
  if (!message.cc.empty()) append_header(out, "Cc", address_list("Cc", message.cc));
  append_header(out, "Subject", unstructured(message.subject, 9));
  append_header(out, "Message-ID", message.message_id);
  append_header(out, "MIME-Version", "1.0");
  append_header(out, "Content-Type",
                fmt::format("multipart/alternative;\r\n boundary=\"{}\"", boundary));
  // RFC 3834: vacation responders and the like must not answer an automatic notification.
  append_header(out, "Auto-Submitted", "auto-generated");
  out += "\r\n";
  append_part(out, boundary, "text/plain", message.text);
  append_part(out, boundary, "text/html", message.html);
  out += fmt::format("--{}--\r\n", boundary);
  return out;
}

}  // namespace teamreg::notify
