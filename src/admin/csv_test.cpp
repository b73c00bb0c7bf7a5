#include "admin/csv.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace teamreg::admin {
namespace {

TEST(CsvCell, PlainTextIsUnchanged) {
  EXPECT_EQ(csv_cell("St. Peter's"), "St. Peter's");
  EXPECT_EQ(csv_cell(""), "");
  EXPECT_EQ(csv_cell("ICCT-007"), "ICCT-007");
}

TEST(CsvCell, SeparatorsQuotesAndLineBreaksAreQuoted) {
  EXPECT_EQ(csv_cell("Smith, John"), "\"Smith, John\"");
  EXPECT_EQ(csv_cell("The \"Lions\""), "\"The \"\"Lions\"\"\"");
  EXPECT_EQ(csv_cell("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_cell("cr\rlf"), "\"cr\rlf\"");
}

TEST(CsvCell, FormulaStartsAreNeutralised) {
  EXPECT_EQ(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
  EXPECT_EQ(csv_cell("+91 98765"), "'+91 98765");
  EXPECT_EQ(csv_cell("-2+3"), "'-2+3");
  EXPECT_EQ(csv_cell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_cell("\tx"), "'\tx");
  EXPECT_EQ(csv_cell("\rx"), "\"'\rx\"");
}

TEST(CsvCell, FormulaCharactersInsideACellAreLeftAlone) {
  EXPECT_EQ(csv_cell("a=b"), "a=b");
  EXPECT_EQ(csv_cell("All-Rounder"), "All-Rounder");
}

TEST(CsvCell, NeutralisedAndQuoted) {
  EXPECT_EQ(csv_cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
}

TEST(CsvRow, JoinsWithCommasAndEndsWithCrlf) {
  std::string out;
  append_csv_row(out, std::vector<std::string>{"a", "b,c", "", "=1"});
  append_csv_row(out, std::vector<std::string>{"x"});
  EXPECT_EQ(out, "a,\"b,c\",,'=1\r\nx\r\n");
}

TEST(CsvRow, Utf8PassesThrough) {
  std::string out;
  append_csv_row(out, std::vector<std::string>{"Zoë", "சென்னை"});
  EXPECT_EQ(out, "Zoë,சென்னை\r\n");
}

}  // namespace
}  // namespace teamreg::admin
