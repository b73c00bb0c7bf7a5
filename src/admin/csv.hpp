#pragma once

#include <span>
#include <string>
#include <string_view>

namespace teamreg::admin {

/// One CSV field: cells a spreadsheet would read as a formula (starting with =, +, -, @, tab or
/// CR) get a leading `'`; then RFC 4180 quoting when the cell holds a quote, comma, CR or LF.
std::string csv_cell(std::string_view value);

/// Appends one record: cells joined by commas, ended by CRLF (RFC 4180).
void append_csv_row(std::string& out, std::span<const std::string> cells);

}  // namespace teamreg::admin
