#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace teamreg::notify {

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// Bytes of the UTF-8 sequence starting at `position` according to its lead byte, clamped to
/// what is left of `text`; 1 for a byte that cannot start a sequence.
std::size_t utf8_sequence_length(std::string_view text, std::size_t position);

/// Standard base64 with padding (RFC 4648 §4), no line breaks.
std::string base64(std::string_view bytes);

/// `& < > " '` as character references: safe in HTML text and in quoted attribute values.
std::string html_escape(std::string_view text);

}  // namespace teamreg::notify
