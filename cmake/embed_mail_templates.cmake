# Compiles the default mail templates into a C++ source file, so the binary carries them and runs
# from any directory (an operator overrides them with --mail-templates DIR, same file names).
# Regenerated whenever a template file changes.
function(teamreg_embed_mail_templates out_var)
  set(entries "")
  foreach(f IN LISTS ARGN)
    get_filename_component(name "${f}" NAME)
    file(READ "${PROJECT_SOURCE_DIR}/${f}" text)
    if(text MATCHES "\\)teamreg_mail\"")
      message(FATAL_ERROR "${f} contains the raw-string delimiter )teamreg_mail\"")
    endif()
    string(APPEND entries "    {\"${name}\", R\"teamreg_mail(${text})teamreg_mail\"},\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${f}")
  endforeach()
  set(out "${CMAKE_BINARY_DIR}/generated/mail_templates.cpp")
  file(WRITE "${out}.tmp"
"// Generated from mail-templates/ by cmake/embed_mail_templates.cmake. Do not edit.
#include \"notify/builtin_templates.hpp\"

namespace teamreg::notify {
namespace {
constexpr EmbeddedTemplate kTemplates[] = {
${entries}};
}  // namespace

std::span<const EmbeddedTemplate> builtin_template_files() {
  return kTemplates;
}

}  // namespace teamreg::notify
")
  file(COPY_FILE "${out}.tmp" "${out}" ONLY_IF_DIFFERENT)
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()
