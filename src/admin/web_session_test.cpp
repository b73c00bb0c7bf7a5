#include "admin/web_session.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace teamreg::admin {
namespace {

http::Request request(std::string method, std::vector<std::pair<std::string, std::string>> headers,
                      std::string scheme = "http") {
  http::Request r;
  r.method = std::move(method);
  r.headers = std::move(headers);
  r.scheme = std::move(scheme);
  return r;
}

TEST(SessionCookie, FoundAmongOtherCookies) {
  EXPECT_EQ(session_cookie(request("GET", {{"cookie", "teamreg_session=abc"}})), "abc");
  EXPECT_EQ(session_cookie(request("GET", {{"cookie", "a=1; teamreg_session=abc ; b=2"}})), "abc");
  EXPECT_EQ(session_cookie(request("GET", {{"cookie", "a=1"}, {"cookie", "teamreg_session=x"}})),
            "x");
  EXPECT_EQ(session_cookie(request("GET", {{"cookie", "teamreg_session=\"q\""}})), "q");
  EXPECT_FALSE(session_cookie(request("GET", {{"cookie", "xteamreg_session=abc; other"}})));
  EXPECT_FALSE(session_cookie(request("GET", {})));
}

TEST(SessionCookie, AttributesAndSecureOnlyOverHttps) {
  EXPECT_EQ(session_cookie_header("id", false),
            "teamreg_session=id; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(session_cookie_header("id", true),
            "teamreg_session=id; Path=/; HttpOnly; SameSite=Strict; Secure");
  EXPECT_EQ(cleared_session_cookie_header(false),
            "teamreg_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

TEST(CsrfRule, OwnOriginIsSchemeAndHostHeader) {
  EXPECT_EQ(own_origin(request("PUT", {{"host", "127.0.0.1:8000"}})), "http://127.0.0.1:8000");
  EXPECT_EQ(own_origin(request("PUT", {{"host", "reg.example.org"}}, "https")),
            "https://reg.example.org");
  EXPECT_EQ(own_origin(request("PUT", {})), "");
  EXPECT_EQ(own_origin(request("PUT", {{"host", "evil.example/x"}})), "");
  EXPECT_EQ(own_origin(request("PUT", {{"host", "user@host"}})), "");
}

TEST(CsrfRule, OriginMustEqualOurOwn) {
  const std::pair<std::string, std::string> host{"host", "reg.example.org:8000"};
  EXPECT_TRUE(same_origin(request("PUT", {host, {"origin", "http://reg.example.org:8000"}})));
  EXPECT_TRUE(same_origin(request("PUT", {host, {"origin", "HTTP://Reg.Example.org:8000"}})));
  EXPECT_FALSE(same_origin(request("PUT", {host, {"origin", "http://evil.example"}})));
  EXPECT_FALSE(same_origin(request("PUT", {host, {"origin", "http://reg.example.org"}})));
  EXPECT_FALSE(same_origin(request("PUT", {host, {"origin", "http://reg.example.org:8000.evil"}})));
  EXPECT_FALSE(same_origin(request("PUT", {host, {"origin", "null"}})));
  // The scheme counts: a page over plain http may not change what an https session owns.
  EXPECT_FALSE(
      same_origin(request("PUT", {host, {"origin", "http://reg.example.org:8000"}}, "https")));
  EXPECT_TRUE(
      same_origin(request("PUT", {host, {"origin", "https://reg.example.org:8000"}}, "https")));
  // A wrong Origin is not saved by a right Referer.
  EXPECT_FALSE(same_origin(request("PUT", {host,
                                           {"origin", "http://evil.example"},
                                           {"referer", "http://reg.example.org:8000/admin/"}})));
  // Without a Host header there is nothing to compare with.
  EXPECT_FALSE(same_origin(request("PUT", {{"origin", "http://reg.example.org:8000"}})));
}

TEST(CsrfRule, WithoutOriginTheRefererMustStartWithOurOriginAndASlash) {
  const std::pair<std::string, std::string> host{"host", "reg.example.org"};
  EXPECT_TRUE(same_origin(request("PUT", {host, {"referer", "http://reg.example.org/admin/"}})));
  EXPECT_TRUE(same_origin(request("PUT", {host, {"referer", "http://reg.example.org/"}})));
  EXPECT_FALSE(same_origin(request("PUT", {host, {"referer", "http://reg.example.org"}})));
  EXPECT_FALSE(
      same_origin(request("PUT", {host, {"referer", "http://reg.example.org.evil.example/x"}})));
  EXPECT_FALSE(
      same_origin(request("PUT", {host, {"referer", "http://reg.example.org:81/admin/"}})));
  EXPECT_FALSE(same_origin(request("PUT", {host, {"referer", "http://evil.example/admin/"}})));
  EXPECT_FALSE(same_origin(request("PUT", {host})));
}

TEST(CsrfRule, TheLoginRefusesOnlyWhatSaysItIsCrossOrigin) {
  const std::pair<std::string, std::string> host{"host", "reg.example.org"};
  EXPECT_TRUE(not_cross_origin(request("POST", {host})));
  EXPECT_TRUE(not_cross_origin(request("POST", {host, {"origin", "http://reg.example.org"}})));
  EXPECT_FALSE(not_cross_origin(request("POST", {host, {"origin", "http://evil.example"}})));
  EXPECT_FALSE(not_cross_origin(request("POST", {host, {"referer", "http://evil.example/"}})));
}

TEST(CsrfRule, OnlyStateChangingMethodsAreChecked) {
  EXPECT_FALSE(changes_state("GET"));
  EXPECT_FALSE(changes_state("HEAD"));
  EXPECT_FALSE(changes_state("OPTIONS"));
  EXPECT_TRUE(changes_state("PUT"));
  EXPECT_TRUE(changes_state("POST"));
  EXPECT_TRUE(changes_state("DELETE"));
  EXPECT_TRUE(changes_state("PATCH"));
}

}  // namespace
}  // namespace teamreg::admin
