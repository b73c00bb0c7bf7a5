#include "web/assets.hpp"

#include <gtest/gtest.h>

#include <array>

namespace teamreg::web {
namespace {

std::string header(const http::Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

constexpr std::array<EmbeddedFile, 2> kFiles{{
    {"public/index.html", "<link href=\"{{asset:shared/site.css}}\"><p>hi</p>"},
    {"shared/site.css", "body{}"},
}};

TEST(WebAssets, PagesNameTheirAssetsWithAVersionAndEveryAnswerHasAnETag) {
  const WebAssets assets(kFiles);
  const http::Request request;
  const http::Response css = assets.serve("shared/site.css", request);
  ASSERT_EQ(css.status, 200U);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  const std::string etag = header(css, "ETag");
  ASSERT_EQ(etag.size(), 18U);
  const http::Response page = assets.serve("public/index.html", request);
  EXPECT_EQ(page.body,
            "<link href=\"/assets/shared/site.css?v=" + etag.substr(1, 12) + "\"><p>hi</p>");
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(page, "Cache-Control"), "no-cache");
  EXPECT_NE(header(page, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(header(page, "Content-Security-Policy").find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
}

TEST(WebAssets, ARevalidationWithTheCurrentETagIs304WithoutABody) {
  const WebAssets assets(kFiles);
  http::Request request;
  const std::string etag = header(assets.serve("shared/site.css", request), "ETag");
  request.headers.emplace_back("if-none-match", etag);
  const http::Response again = assets.serve("shared/site.css", request);
  EXPECT_EQ(again.status, 304U);
  EXPECT_TRUE(again.body.empty());
  request.headers.back().second = "\"0000000000000000\"";
  EXPECT_EQ(assets.serve("shared/site.css", request).status, 200U);
  EXPECT_EQ(assets.serve("shared/missing.js", request).status, 404U);
}

TEST(WebAssets, APageNamingAMissingAssetStopsTheServerAtStart) {
  constexpr std::array<EmbeddedFile, 1> broken{{{"admin/index.html", "{{asset:admin/gone.js}}"}}};
  EXPECT_THROW(WebAssets{broken}, std::logic_error);
}

TEST(WebAssets, TheBuiltInPagesAreServedAtTheirRoutes) {
  const WebAssets assets;
  http::Router router;
  assets.add_routes(router);
  for (const char* path : {"/", "/admin", "/admin/", "/assets/shared/base.css"}) {
    http::Request request;
    request.method = "GET";
    request.path = path;
    const auto match = router.match(request);
    ASSERT_NE(match.handler, nullptr) << path;
    EXPECT_EQ((*match.handler)(request).status, 200U) << path;
  }
}

}  // namespace
}  // namespace teamreg::web
