#pragma once

#include <span>
#include <string_view>

namespace teamreg::notify {

/// One file of mail-templates/, compiled into the binary by cmake/embed_mail_templates.cmake.
struct EmbeddedTemplate {
  std::string_view name;  ///< file name, e.g. "received.html"
  std::string_view text;
};

/// The built-in templates (generated source).
std::span<const EmbeddedTemplate> builtin_template_files();

}  // namespace teamreg::notify
