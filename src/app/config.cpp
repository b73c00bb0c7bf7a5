#include "app/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>

#include "http/client_address.hpp"

namespace teamreg::app {

std::string AppConfig::database_location() const {
  return database.empty() ? data_dir + "/teamreg.db" : database;
}

bool AppConfig::uses_postgres() const {
  const std::string location = database_location();
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string finalize(AppConfig& config) {
  const auto colon = config.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return fmt::format("--listen must be HOST:PORT, got '{}'", config.listen);
  }
  std::string host = config.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = config.listen.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return fmt::format("--listen port must be 0-65535, got '{}'", port_text);
  }
  boost::system::error_code address_error;
  boost::asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, address_error);
  if (address_error) return fmt::format("--listen host must be an IP address, got '{}'", host);
  config.server.host = host == "localhost" ? "127.0.0.1" : host;
  config.server.port = static_cast<std::uint16_t>(port);

  const auto& prefix = config.id_format.prefix;
  if (prefix.empty() || prefix.size() > 16 ||
      !std::all_of(prefix.begin(), prefix.end(),
                   [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); })) {
    return "--id-prefix must be 1-16 characters A-Z or 0-9";
  }
  if (config.id_format.min_width < 1 || config.id_format.min_width > 12) {
    return "--id-width must be from 1 to 12";
  }
  auto& rules = config.registration.rules;
  if (rules.min_players < 1 || rules.max_players > 99 || rules.min_players > rules.max_players) {
    return fmt::format(
        "players must satisfy 1 <= --min-players <= --max-players <= 99 (got {} and {})",
        rules.min_players, rules.max_players);
  }
  if (config.registration.teams_per_church < 1) return "--teams-per-church must be at least 1";
  if (config.registration.form.max_file_bytes < 1) return "--max-file-bytes must be positive";
  if (config.rate_limit_per_minute < 0) return "--rate-limit must be 0 (off) or positive";
  if (config.sweep_interval.count() < 1) return "--sweep-interval must be at least 1 second";
  if (config.staging_ttl.count() < 0) return "--staging-ttl must not be negative";
  if (config.server.cors_origins.empty()) config.server.cors_origins = {"*"};
  auto trusted = http::TrustedProxies::parse(config.trusted_proxies);
  if (!trusted) return fmt::format("--trusted-proxies: {}", trusted.error());
  config.server.trusted_proxies = std::move(*trusted);
  // The whole body may carry every document at full size plus the text fields.
  const auto documents = static_cast<std::uint64_t>(3 + 2 * rules.max_players);
  config.server.max_upload_bytes =
      documents * config.registration.form.max_file_bytes + (1ULL << 20);
  config.registration.multipart.max_parts = static_cast<std::size_t>(16 + 4 * rules.max_players);
  return {};
}

}  // namespace teamreg::app
