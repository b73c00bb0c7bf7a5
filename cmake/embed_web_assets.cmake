# Compiles the web pages under web/ into a C++ source file, so the binary serves them from any
# directory with nothing fetched at run time (docs/admin.md). Every file under web/ is embedded;
# CMake re-runs when one changes, is added or is removed.
function(teamreg_embed_web_assets out_var)
  file(GLOB_RECURSE files RELATIVE "${PROJECT_SOURCE_DIR}/web" CONFIGURE_DEPENDS
       "${PROJECT_SOURCE_DIR}/web/*")
  list(SORT files)
  set(entries "")
  foreach(f IN LISTS files)
    get_filename_component(name "${f}" NAME)
    if(name MATCHES "^\\.")
      continue()
    endif()
    file(READ "${PROJECT_SOURCE_DIR}/web/${f}" text)
    if(text MATCHES "\\)teamreg_web\"")
      message(FATAL_ERROR "web/${f} contains the raw-string delimiter )teamreg_web\"")
    endif()
    string(APPEND entries "    {\"${f}\", R\"teamreg_web(${text})teamreg_web\"},\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/web/${f}")
  endforeach()
  set(out "${CMAKE_BINARY_DIR}/generated/web_assets.cpp")
  file(WRITE "${out}.tmp"
"// Generated from web/ by cmake/embed_web_assets.cmake. Do not edit.
#include \"web/embedded.hpp\"

namespace teamreg::web {
namespace {
constexpr EmbeddedFile kFiles[] = {
${entries}};
}  // namespace

std::span<const EmbeddedFile> embedded_files() {
  return kFiles;
}

}  // namespace teamreg::web
")
  file(COPY_FILE "${out}.tmp" "${out}" ONLY_IF_DIFFERENT)
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()
