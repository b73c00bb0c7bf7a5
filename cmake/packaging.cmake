# `make package`: a Debian package of the teamreg binary with its configuration file, system user,
# data directory and systemd unit (packaging/, docs/operations.md#installing-the-debian-package).
include(GNUInstallDirs)

# `cpack` installs only teamreg, without first building every test and benchmark.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

install(TARGETS teamreg RUNTIME DESTINATION bin)
install(FILES packaging/teamreg.conf DESTINATION /etc/teamreg)
install(FILES packaging/teamreg.service DESTINATION /lib/systemd/system)
install(FILES packaging/teamreg.sysusers DESTINATION lib/sysusers.d RENAME teamreg.conf)
install(FILES packaging/teamreg.tmpfiles DESTINATION lib/tmpfiles.d RENAME teamreg.conf)
install(FILES packaging/copyright README.md docs/operations.md DESTINATION share/doc/teamreg)

# Debian wants a compressed changelog of the (native) package, written here from the version.
set(changelog "${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog")
string(TIMESTAMP changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE "${changelog}"
  "teamreg (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
  "  * Built from the teamreg source tree.\n\n"
  " -- teamreg maintainers <teamreg@example.org>  ${changelog_date}\n")
execute_process(COMMAND gzip -9nf "${changelog}" COMMAND_ERROR_IS_FATAL ANY)
install(FILES "${changelog}.gz" DESTINATION share/doc/teamreg)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME teamreg)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGE_CONTACT "teamreg maintainers <teamreg@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "tournament team registration server")
set(CPACK_PACKAGE_DESCRIPTION
    "teamreg takes team registrations for a tournament over HTTP, with their documents,\n"
    "and gives each team a gapless sequential ID. It stores them in SQLite or PostgreSQL,\n"
    "e-mails the teams and offers an admin API and console.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers creates the user in postinst.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | systemd-standalone-sysusers | systemd-sysusers")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/conffiles" "${PROJECT_SOURCE_DIR}/packaging/postinst"
    "${PROJECT_SOURCE_DIR}/packaging/prerm" "${PROJECT_SOURCE_DIR}/packaging/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
