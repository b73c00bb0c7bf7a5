# Turns the numbered migration files of one dialect into a C++ source file, so the binary carries
# its schema and runs from any directory. Regenerated whenever a migration file changes.
function(teamreg_embed_migrations dialect out_var)
  set(files ${ARGN})
  set(entries "")
  foreach(f IN LISTS files)
    get_filename_component(name "${f}" NAME_WE)
    string(REGEX MATCH "^[0-9]+" version "${name}")
    math(EXPR version "${version}")
    file(READ "${PROJECT_SOURCE_DIR}/${f}" sql)
    string(APPEND entries "    {${version}, \"${name}\", R\"teamreg_sql(${sql})teamreg_sql\"},\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${f}")
  endforeach()
  set(out "${CMAKE_BINARY_DIR}/generated/migrations_${dialect}.cpp")
  if(entries STREQUAL "")
    set(entries "    {0, \"none\", \"\"},\n")
    set(first 1)
  else()
    set(first 0)
  endif()
  file(WRITE "${out}.tmp"
"// Generated from migrations/${dialect}/ by cmake/embed_migrations.cmake. Do not edit.
#include \"storage/migrations.hpp\"

namespace teamreg::storage {
namespace {
constexpr Migration kMigrations[] = {
${entries}};
}  // namespace

std::span<const Migration> ${dialect}_migrations() {
  return std::span<const Migration>(kMigrations).subspan(${first});
}

}  // namespace teamreg::storage
")
  file(COPY_FILE "${out}.tmp" "${out}" ONLY_IF_DIFFERENT)
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()
