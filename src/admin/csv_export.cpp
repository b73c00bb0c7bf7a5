#include "admin/csv_export.hpp"

#include <string>
#include <vector>

#include "admin/csv.hpp"

namespace teamreg::admin {
namespace {

const std::vector<std::string>& header_cells() {
  static const std::vector<std::string> cells{"team_id",
                                              "team_name",
                                              "church_name",
                                              "registration_status",
                                              "status_reason",
                                              "registration_date",
                                              "captain_name",
                                              "captain_phone",
                                              "captain_email",
                                              "captain_whatsapp",
                                              "vice_captain_name",
                                              "vice_captain_phone",
                                              "vice_captain_email",
                                              "vice_captain_whatsapp",
                                              "player_id",
                                              "player_position",
                                              "player_name",
                                              "player_role"};
  return cells;
}

void append_row(std::string& out, const storage::ExportRow& row, std::vector<std::string>& cells) {
  cells = {row.team.team_id,
           row.team.team_name,
           row.team.church_name,
           row.team.status,
           row.status_reason.value_or(""),
           row.team.registration_date,
           row.captain.name,
           row.captain.phone,
           row.captain.email,
           row.captain.whatsapp,
           row.vice.name,
           row.vice.phone,
           row.vice.email,
           row.vice.whatsapp};
  if (row.player) {
    cells.push_back(row.player->player_id);
    cells.push_back(std::to_string(row.player->position));
    cells.push_back(row.player->name);
    cells.push_back(row.player->role);
  } else {
    cells.insert(cells.end(), 4, std::string());
  }
  append_csv_row(out, cells);
}

}  // namespace

CsvExport::CsvExport(storage::AdminStore& store, int page_teams)
    : store_(store), page_teams_(page_teams), cursor_(storage::ExportCursor{}) {}

std::string_view CsvExport::next() {
  piece_.clear();
  if (!header_written_) {
    header_written_ = true;
    append_csv_row(piece_, header_cells());
  }
  if (!cursor_) return piece_;
  const std::vector<storage::ExportRow> rows = store_.export_page(*cursor_, page_teams_);
  piece_.reserve(piece_.size() + 256 * rows.size());
  std::vector<std::string> cells;
  int teams = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i == 0 || rows[i - 1].team.team_id != rows[i].team.team_id) ++teams;
    append_row(piece_, rows[i], cells);
  }
  // A short page is the last; otherwise the next starts after this page's last team.
  if (teams < page_teams_) {
    cursor_.reset();
  } else {
    const auto& last = rows.back();
    cursor_ = storage::ExportCursor{last.sequence_name, last.team.number, last.team.team_id};
  }
  return piece_;
}

}  // namespace teamreg::admin
