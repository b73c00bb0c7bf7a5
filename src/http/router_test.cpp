#include "http/router.hpp"

#include <gtest/gtest.h>

namespace teamreg::http {
namespace {

Router make_router() {
  Router router;
  router.add("GET", "/api/teams", [](const Request&) { return json_response(200, "list"); });
  router.add("GET", "/api/teams/{team_id}",
             [](const Request&) { return json_response(200, "one"); });
  router.add("GET", "/admin/teams/{team_id}/files/{name}",
             [](const Request&) { return json_response(200, "file"); });
  return router;
}

Request get(std::string path) {
  Request request;
  request.method = "GET";
  request.path = std::move(path);
  return request;
}

TEST(RouterTest, MatchesLiteralAndPlaceholderSegments) {
  const Router router = make_router();
  auto list = get("/api/teams");
  EXPECT_EQ(router.match(list).pattern, "/api/teams");
  auto one = get("/api/teams/ICCT-007");
  const auto match = router.match(one);
  ASSERT_NE(match.handler, nullptr);
  EXPECT_EQ(match.pattern, "/api/teams/{team_id}");
  EXPECT_EQ(one.path_params.at("team_id"), "ICCT-007");
}

TEST(RouterTest, DecodesPercentEscapesInCapturedSegments) {
  const Router router = make_router();
  auto request = get("/admin/teams/ICCT%2D007/files/..%2Fteamreg.db");
  ASSERT_NE(router.match(request).handler, nullptr);
  EXPECT_EQ(request.path_params.at("team_id"), "ICCT-007");
  // Decoded, so the handler sees (and refuses) the real name; never a path separator it missed.
  EXPECT_EQ(request.path_params.at("name"), "../teamreg.db");
  auto malformed = get("/api/teams/ICCT%2");
  ASSERT_NE(router.match(malformed).handler, nullptr);
  EXPECT_EQ(malformed.path_params.at("team_id"), "ICCT%2");
}

TEST(RouterTest, ControlCharactersMatchNothing) {
  const Router router = make_router();
  for (const char* path : {"/api/teams/ICCT-001%00", "/api/teams/ICCT%0A001", "/api/teams/%7F"}) {
    auto request = get(path);
    const auto match = router.match(request);
    EXPECT_EQ(match.handler, nullptr) << path;
    EXPECT_TRUE(match.pattern.empty()) << path;
  }
}

TEST(RouterTest, ReportsMethodMismatchSeparatelyFromUnknownPaths) {
  const Router router = make_router();
  auto post = get("/api/teams");
  post.method = "POST";
  EXPECT_TRUE(router.match(post).method_mismatch);
  auto unknown = get("/api/nothing");
  EXPECT_FALSE(router.match(unknown).method_mismatch);
  EXPECT_EQ(router.match(unknown).handler, nullptr);
}

TEST(RouterTest, OnlyImmediateRoutesRunOnTheNetworkThread) {
  Router router = make_router();
  router.add_immediate("GET", "/health", [](const Request&) { return json_response(200, "{}"); });
  auto health = get("/health");
  const auto immediate = router.match(health);
  ASSERT_NE(immediate.handler, nullptr);
  EXPECT_TRUE(immediate.on_network_thread);
  auto teams = get("/api/teams");
  const auto ordinary = router.match(teams);
  ASSERT_NE(ordinary.handler, nullptr);
  EXPECT_FALSE(ordinary.on_network_thread);
}

}  // namespace
}  // namespace teamreg::http
