#include "http/header_values.hpp"

#include <gtest/gtest.h>

#include <string>

namespace teamreg::http {
namespace {

using namespace std::string_literals;

TEST(SaneRequestId, AcceptsShortPlainIds) {
  EXPECT_TRUE(sane_request_id("a"));
  EXPECT_TRUE(sane_request_id("req-42_x.Y"));
  EXPECT_TRUE(sane_request_id(std::string(128, 'z')));
}

TEST(SaneRequestId, RefusesWhatCouldForgeALogLine) {
  EXPECT_FALSE(sane_request_id(""));
  EXPECT_FALSE(sane_request_id(std::string(129, 'z')));
  EXPECT_FALSE(sane_request_id("a b"));
  EXPECT_FALSE(sane_request_id("a\r\nb"));
  EXPECT_FALSE(sane_request_id("a\0b"s));
  EXPECT_FALSE(sane_request_id("id=\"x\""));
  EXPECT_FALSE(sane_request_id("caf\xc3\xa9"));
  EXPECT_FALSE(sane_request_id("\xaa"));
}

TEST(ValidIdempotencyKey, AcceptsOneTo255VisibleAsciiCharacters) {
  EXPECT_TRUE(valid_idempotency_key("k"));
  EXPECT_TRUE(valid_idempotency_key("\"8e03978e-40d5-43e8-bc93-6894a57f9324\""));
  EXPECT_TRUE(valid_idempotency_key("!~"));
  EXPECT_TRUE(valid_idempotency_key(std::string(255, 'k')));
}

TEST(ValidIdempotencyKey, RefusesEmptyLongSpacesControlsAndNonAscii) {
  EXPECT_FALSE(valid_idempotency_key(""));
  EXPECT_FALSE(valid_idempotency_key(std::string(256, 'k')));
  EXPECT_FALSE(valid_idempotency_key("a b"));
  EXPECT_FALSE(valid_idempotency_key("a\tb"));
  EXPECT_FALSE(valid_idempotency_key("a\0b"s));
  EXPECT_FALSE(valid_idempotency_key("a\x7f"));
  EXPECT_FALSE(valid_idempotency_key("caf\xc3\xa9"));
}

}  // namespace
}  // namespace teamreg::http
