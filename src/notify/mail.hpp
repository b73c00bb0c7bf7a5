#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace teamreg::notify {

/// One mailbox of a header: an optional display name (UTF-8, any script) and an address.
struct Mailbox {
  std::string display_name;
  std::string address;  ///< plain ASCII `local@domain`, no angle brackets
};

/// Everything a notification mail is made of, before it becomes RFC 5322 bytes.
struct MailMessage {
  Mailbox from;
  std::optional<Mailbox> reply_to;
  Mailbox to;
  std::vector<Mailbox> cc;
  std::string subject;     ///< one line, UTF-8
  std::string text;        ///< the text/plain part, UTF-8; any line ending
  std::string html;        ///< the text/html part, UTF-8, already escaped by its template
  std::string message_id;  ///< `<left@right>`, from make_message_id()
  std::chrono::system_clock::time_point date;
};

/// The Message-ID of the mail of one outbox row: `<teamreg.outbox.42@domain>`. The same row
/// always gets the same ID, so a repeat after a crash mid-send is recognisable as a duplicate.
/// `domain` should be one this deployment owns (e.g. the domain of the From address), so that IDs
/// of two deployments never collide.
std::string make_message_id(std::int64_t outbox_id, std::string_view domain);

/// The domain part of an address (`a@b.org` → `b.org`); empty when there is no `@`.
std::string_view address_domain(std::string_view address);

/// True for the conservative address form teamreg sends to: a dot-atom local part (letters,
/// digits, ``!#$%&'*+-/=?^_`{|}~`` and inner dots) `@` a domain of letters, digits, `-` and dots.
/// Nothing else can reach a header or an SMTP envelope command.
bool is_sendable_address(std::string_view address);

/// An operator's address setting (--mail-from, --mail-reply-to): `addr@example.org` or
/// `Display Name <addr@example.org>`, the address sendable (is_sendable_address) and the name free
/// of control characters and of `<>"`. Empty when it is neither.
std::optional<Mailbox> parse_mailbox(std::string_view text);

/// RFC 5322 date-time in UTC: `Tue, 01 Dec 2026 01:02:03 +0000`.
std::string format_rfc5322_date(std::chrono::system_clock::time_point time);

/// Renders the message as the bytes handed to SMTP DATA: CRLF line endings, every line at most
/// 78 characters except where an unbreakable header word is longer, `multipart/alternative` with
/// text/plain then text/html, both UTF-8 and quoted-printable. The same message always renders
/// to the same bytes (the MIME boundary is derived from the Message-ID).
///
/// Header injection is refused, not repaired: a CR, LF or other control character in the
/// subject, a display name, an address or the Message-ID, or an address that is not
/// is_sendable_address(), returns an error naming the header (never its value, which may be
/// personal data). Stripping would silently change a recipient; a value with a line break in a
/// header is a bug upstream that should surface. Templates collapse whitespace in subjects
/// before they get here (templates.hpp), so legitimate text never hits this.
///
/// Dot-stuffing is not done here: libcurl escapes a leading "." on every line of an SMTP upload
/// (CURLOPT_UPLOAD with CURLOPT_READFUNCTION) and appends the terminating "\r\n.\r\n" itself.
tl::expected<std::string, std::string> compose(const MailMessage& message);

/// `value` as RFC 2047 encoded-words (`=?UTF-8?B?...?=`), each at most 75 characters and never
/// splitting a UTF-8 sequence, separated by "\r\n " (folding whitespace), for a header whose
/// name takes `first_line_used` characters of the first line. Exposed for tests.
std::string encode_words(std::string_view value, std::size_t first_line_used);

/// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: any input line ending becomes CRLF, lines are
/// soft-broken at 76 characters, trailing space or tab before a break is encoded. Exposed for
/// tests.
std::string quoted_printable(std::string_view text);

}  // namespace teamreg::notify
