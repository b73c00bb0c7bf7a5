#include "core/error.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace teamreg {
namespace {

// The field as the client gets it back, after error_body() made it printable UTF-8. Parsing with
// Boost.JSON also proves the body valid UTF-8: its parser refuses anything else.
std::string echoed_field(const std::string& field) {
  const std::string body = error_body(validation_error(field, "Unknown field"), "req-1");
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  if (ec) return {};
  return std::string(parsed.at("details").at("field").as_string());
}

TEST(ErrorBody, KeepsValidUtf8AndReplacesControls) {
  EXPECT_EQ(echoed_field("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(echoed_field("\xe0\xb4\xb9\xf0\x9f\x8f\x8f"), "\xe0\xb4\xb9\xf0\x9f\x8f\x8f");
  EXPECT_EQ(echoed_field("\xed\x9f\xbf"), "\xed\x9f\xbf");  // U+D7FF, the last before surrogates
  EXPECT_EQ(echoed_field("a\r\nb\x7f"), "a??b?");
}

// Found by fuzz/form_fuzz.cpp: a field name holding a UTF-8-encoded surrogate went back to the
// client as it was, so the error body was not valid UTF-8 (a strict JSON parser refuses it).
TEST(ErrorBody, ReplacesSurrogatesOverlongFormsAndCodePointsPastUnicode) {
  EXPECT_EQ(echoed_field(std::string("te\xed\xa0\x80") + "am"), "te???am");  // U+D800
  EXPECT_EQ(echoed_field("\xe0\x80\xaf"), "???");                            // overlong '/'
  EXPECT_EQ(echoed_field("\xf0\x80\x80\xaf"), "????");                       // overlong '/'
  EXPECT_EQ(echoed_field("\xf4\x90\x80\x80"), "????");                       // U+110000
  EXPECT_EQ(echoed_field("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");           // U+10FFFF
}

}  // namespace
}  // namespace teamreg
