#include "web/assets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace teamreg::web {
namespace {

constexpr std::string_view kAssetTag = "{{asset:";

/// FNV-1a, 64 bits: an ETag needs to change with the content, not to resist an attacker.
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string etag_of(std::string_view content) {
  return fmt::format("\"{:016x}\"", fnv1a(content));
}

}  // namespace

std::string_view content_type_for(std::string_view path) {
  const auto ends_with = [&](std::string_view suffix) { return path.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js") || ends_with(".mjs")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".json")) return "application/json";
  if (ends_with(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

WebAssets::WebAssets(std::span<const EmbeddedFile> files) {
  assets_.reserve(files.size());
  for (const EmbeddedFile& file : files) {
    assets_.push_back(Asset{std::string(file.path), std::string(file.content),
                            std::string(content_type_for(file.path)), etag_of(file.content)});
  }
  // Pages name their assets with a version (see the class comment); a page naming a file that
  // does not exist is a build mistake, caught when the server starts.
  for (Asset& asset : assets_) {
    if (!asset.path.ends_with(".html")) continue;
    std::string out;
    std::size_t pos = 0;
    while (true) {
      const std::size_t open = asset.content.find(kAssetTag, pos);
      if (open == std::string::npos) break;
      const std::size_t close = asset.content.find("}}", open);
      if (close == std::string::npos) {
        throw std::logic_error(fmt::format("web/{}: unclosed {{{{asset:", asset.path));
      }
      const std::string target =
          asset.content.substr(open + kAssetTag.size(), close - open - kAssetTag.size());
      const Asset* named = find(target);
      if (named == nullptr) {
        throw std::logic_error(fmt::format("web/{} names a missing asset {}", asset.path, target));
      }
      out.append(asset.content, pos, open - pos);
      out += fmt::format("/assets/{}?v={}", target, named->etag.substr(1, 12));
      pos = close + 2;
    }
    if (pos == 0) continue;
    out.append(asset.content, pos);
    asset.content = std::move(out);
    asset.etag = etag_of(asset.content);
  }
}

const WebAssets::Asset* WebAssets::find(std::string_view path) const {
  const auto it = std::find_if(assets_.begin(), assets_.end(),
                               [&](const Asset& asset) { return asset.path == path; });
  return it == assets_.end() ? nullptr : &*it;
}

http::Response WebAssets::serve(std::string_view path, const http::Request& request) const {
  http::Response response;
  response.headers = {
      {"Content-Security-Policy", std::string(kContentSecurityPolicy)},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "same-origin"},
      {"X-Frame-Options", "DENY"},
  };
  const Asset* asset = find(path);
  if (asset == nullptr) {
    response.status = 404;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "Not found\n";
    return response;
  }
  response.headers.emplace_back("ETag", asset->etag);
  response.headers.emplace_back("Cache-Control", "no-cache");
  const auto if_none_match = request.header("if-none-match");
  if (if_none_match && if_none_match->find(asset->etag) != std::string_view::npos) {
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  response.content_type = asset->content_type;
  response.body = asset->content;
  return response;
}

void WebAssets::add_routes(http::Router& router) const {
  const auto page = [this](std::string path) {
    return [this, path = std::move(path)](const http::Request& request) {
      return serve(path, request);
    };
  };
  if (find("public/index.html") != nullptr)
    router.add_immediate("GET", "/", page("public/index.html"));
  if (find("admin/index.html") != nullptr) {
    router.add_immediate("GET", "/admin", page("admin/index.html"));
  }
  for (const Asset& asset : assets_)
    router.add_immediate("GET", "/assets/" + asset.path, page(asset.path));
}

}  // namespace teamreg::web
