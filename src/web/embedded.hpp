#pragma once

#include <span>
#include <string_view>

namespace teamreg::web {

/// One file of web/, built into the binary (cmake/embed_web_assets.cmake).
struct EmbeddedFile {
  std::string_view path;  ///< relative to web/, e.g. "admin/app.js"
  std::string_view content;
};

std::span<const EmbeddedFile> embedded_files();

}  // namespace teamreg::web
