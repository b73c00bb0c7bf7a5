#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "storage/admin_store.hpp"

namespace teamreg::admin {

/// The CSV export (RFC 4180, UTF-8, a header row, CRLF; one row per player, formula cells
/// neutralised by csv_cell) read and written one page of teams at a time, so that neither the
/// rows nor the text of a large tournament sit whole in memory. Each page is one database read
/// (storage::AdminStore::export_page); teams are never repeated or skipped, and a team
/// committed during the export appears when its key sorts after the pages already read.
class CsvExport {
 public:
  static constexpr int kPageTeams = 200;  ///< about 2,400 rows, 600 KB of text

  explicit CsvExport(storage::AdminStore& store, int page_teams = kPageTeams);

  /// The next piece of the file, valid until the next call: the header row and the first page,
  /// then a page at a time; empty at the end. Store failures throw as in AdminStore.
  std::string_view next();

 private:
  storage::AdminStore& store_;
  int page_teams_;
  std::optional<storage::ExportCursor> cursor_;  ///< empty once the last page has been read
  bool header_written_ = false;
  std::string piece_;
};

}  // namespace teamreg::admin
