#include "admin/csv.hpp"

namespace teamreg::admin {
namespace {

bool starts_formula(std::string_view value) {
  if (value.empty()) return false;
  switch (value.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r': return true;
    default: return false;
  }
}

}  // namespace

std::string csv_cell(std::string_view value) {
  std::string cell;
  cell.reserve(value.size() + 3);
  if (starts_formula(value)) cell.push_back('\'');
  cell.append(value);
  if (cell.find_first_of("\",\r\n") == std::string::npos) return cell;
  std::string quoted;
  quoted.reserve(cell.size() + 8);
  quoted.push_back('"');
  for (const char c : cell) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

void append_csv_row(std::string& out, std::span<const std::string> cells) {
  bool first = true;
  for (const std::string& value : cells) {
    if (!first) out.push_back(',');
    first = false;
    out += csv_cell(value);
  }
  out += "\r\n";
}

}  // namespace teamreg::admin
