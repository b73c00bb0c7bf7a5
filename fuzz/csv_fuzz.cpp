// The CSV writer of the admin export: whatever the cells hold, the output read back by a strict
// RFC 4180 reader (below: the oracle) gives exactly the cells written, with the formula guard
// (a leading ') where the writer promises one, and no cell that a spreadsheet would take for a
// formula.
//
// Input (FuzzedDataProvider): rows of 1-8 cells of arbitrary bytes.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/csv.hpp"
#include "check.hpp"

namespace {

using teamreg::fuzz::check;
using Rows = std::vector<std::vector<std::string>>;

// RFC 4180: records end with CRLF; a field is either free of DQUOTE, comma, CR and LF, or
// enclosed in DQUOTEs with inner DQUOTEs doubled. nullopt for anything else.
std::optional<Rows> read_csv(std::string_view text) {
  Rows rows;
  std::size_t i = 0;
  while (i < text.size()) {
    std::vector<std::string> row;
    while (true) {
      std::string field;
      if (i < text.size() && text[i] == '"') {
        ++i;
        while (true) {
          if (i >= text.size()) return std::nullopt;
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          field.push_back(text[i++]);
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          if (text[i] == '"') return std::nullopt;
          field.push_back(text[i++]);
        }
      }
      row.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      if (text.substr(i, 2) != "\r\n") return std::nullopt;
      i += 2;
      break;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

bool formula_start(std::string_view cell) {
  return !cell.empty() && std::string_view("=+-@\t\r").find(cell.front()) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  Rows written;
  std::string csv;
  while (input.remaining_bytes() > 0 && written.size() < 64) {
    std::vector<std::string> row(input.ConsumeIntegralInRange<std::size_t>(1, 8));
    for (auto& cell : row) cell = input.ConsumeRandomLengthString(64);
    teamreg::admin::append_csv_row(csv, row);
    written.push_back(std::move(row));
  }

  const auto read = read_csv(csv);
  check(read.has_value(), "the writer produced CSV that RFC 4180 does not allow", csv);
  check(read->size() == written.size(), "the CSV read back has another number of rows", csv);
  for (std::size_t r = 0; r < written.size(); ++r) {
    check((*read)[r].size() == written[r].size(), "a row read back has another number of cells",
          csv);
    for (std::size_t c = 0; c < written[r].size(); ++c) {
      const std::string& original = written[r][c];
      const std::string& cell = (*read)[r][c];
      const std::string expected = formula_start(original) ? "'" + original : original;
      check(cell == expected, "a cell read back differs from the cell written", csv);
      check(!formula_start(cell), "a cell read back would start a formula", csv);
      check(teamreg::admin::csv_cell(original).find_first_of("\r\n,") == std::string::npos ||
                teamreg::admin::csv_cell(original).front() == '"',
            "a cell holding a separator is not quoted", csv);
    }
  }
  return 0;
}
