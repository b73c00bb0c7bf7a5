#pragma once

#include <optional>
#include <string_view>

namespace teamreg::files {

/// Bytes needed to judge a file's type by content.
inline constexpr std::size_t kSniffBytes = 8;

/// "image/png", "image/jpeg" or "application/pdf" judged by magic bytes, else nullopt.
/// Only the first kSniffBytes (or fewer, for a shorter file) are looked at. The client's file name
/// and Content-Type are never consulted: they are what an attacker controls.
std::optional<std::string_view> sniff_content_type(std::string_view head);

/// File name extension for a sniffed content type ("pdf", "png", "jpg").
std::string_view extension_for(std::string_view content_type);

}  // namespace teamreg::files
