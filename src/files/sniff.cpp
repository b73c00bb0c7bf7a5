#include "files/sniff.hpp"

namespace teamreg::files {

std::optional<std::string_view> sniff_content_type(std::string_view head) {
  using namespace std::string_view_literals;
  if (head.starts_with("\x89PNG\r\n\x1a\n"sv)) return "image/png";
  if (head.starts_with("\xFF\xD8\xFF"sv)) return "image/jpeg";
  if (head.starts_with("%PDF-"sv)) return "application/pdf";
  return std::nullopt;
}

std::string_view extension_for(std::string_view content_type) {
  if (content_type == "image/png") return "png";
  if (content_type == "image/jpeg") return "jpg";
  if (content_type == "application/pdf") return "pdf";
  return "bin";
}

}  // namespace teamreg::files
