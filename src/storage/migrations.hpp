#pragma once

#include <span>
#include <string_view>

namespace teamreg::storage {

/// One numbered schema change, embedded from migrations/<dialect>/NNNN_name.sql at build time.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const Migration> sqlite_migrations();
std::span<const Migration> postgres_migrations();

}  // namespace teamreg::storage
