// File type sniffing: only PNG, JPEG and PDF are recognised, only from their magic bytes, only
// from the first kSniffBytes bytes (what the staging file keeps as its head), and every
// recognised type has its own extension.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.hpp"
#include "files/sniff.hpp"

using teamreg::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace std::string_view_literals;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto type = teamreg::files::sniff_content_type(bytes);
  const auto head = bytes.substr(0, teamreg::files::kSniffBytes);
  check(teamreg::files::sniff_content_type(head) == type,
        "sniffing looked past the first kSniffBytes bytes");
  // Every shorter prefix of a recognised head is either recognised alike or not at all.
  for (std::size_t length = 0; length < head.size(); ++length) {
    const auto shorter = teamreg::files::sniff_content_type(head.substr(0, length));
    check(!shorter || shorter == type, "a prefix of the head sniffs as another type");
  }
  if (!type) return 0;
  if (*type == "image/png") {
    check(bytes.starts_with("\x89PNG\r\n\x1a\n"sv), "PNG without the PNG signature");
    check(teamreg::files::extension_for(*type) == "png", "PNG has another extension");
  } else if (*type == "image/jpeg") {
    check(bytes.starts_with("\xFF\xD8\xFF"sv), "JPEG without the JPEG signature");
    check(teamreg::files::extension_for(*type) == "jpg", "JPEG has another extension");
  } else if (*type == "application/pdf") {
    check(bytes.starts_with("%PDF-"sv), "PDF without %PDF-");
    check(teamreg::files::extension_for(*type) == "pdf", "PDF has another extension");
  } else {
    teamreg::fuzz::fail("sniffed an unexpected type", *type);
  }
  return 0;
}
