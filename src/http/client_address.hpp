#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace teamreg::http {

/// The networks of --trusted-proxies: reverse proxies whose X-Forwarded-For, Forwarded and
/// X-Forwarded-Proto headers are believed. Empty (the default) believes nobody.
class TrustedProxies final {
 public:
  TrustedProxies() = default;

  /// Parses comma-separated CIDRs ("10.0.0.0/8, 2001:db8::/32, 192.0.2.7"); a bare address is a
  /// /32 or /128; IPv4-mapped IPv6 networks (::ffff:10.0.0.0/104) are stored as IPv4. Host bits
  /// set below the prefix ("10.0.0.1/8") are refused: the intent is ambiguous and guessing wide
  /// would trust far more than meant. The error names the offending entry.
  static tl::expected<TrustedProxies, std::string> parse(std::string_view list);

  bool empty() const { return networks_.empty(); }
  std::size_t size() const { return networks_.size(); }
  /// True when the address lies in one of the networks; an IPv4-mapped IPv6 address
  /// (::ffff:127.0.0.1, as a dual-stack socket reports IPv4 peers) matches IPv4 networks.
  bool contains(const boost::asio::ip::address& address) const;

 private:
  struct Network {
    bool v4 = true;
    std::array<std::uint8_t, 16> bytes{};  ///< masked; IPv4 uses the first 4
    unsigned prefix_bits = 0;
  };
  std::vector<Network> networks_;
};

/// Who sent a request, as far as the TCP peer and the proxies it is trusted to speak for say.
struct ClientOrigin {
  std::string address;          ///< canonical text (IPv4-mapped shown as IPv4, IPv6 compressed)
  std::string scheme = "http";  ///< "https" only when a trusted proxy says so
};

/// Canonical form used for every address comparison and as a rate-limit key: IPv4-mapped IPv6
/// becomes IPv4, so "::ffff:1.2.3.4" and "1.2.3.4" are one client.
boost::asio::ip::address canonical_address(const boost::asio::ip::address& address);

/// One node as written in X-Forwarded-For or in a Forwarded `for=` value (already unquoted):
/// IPv4, IPv4:port, IPv6, [IPv6], [IPv6]:port (an RFC 7239 obfuscated port "_x" is accepted).
/// Anything else — "unknown", obfuscated identifiers, zone IDs, garbage — is nullopt.
std::optional<boost::asio::ip::address> parse_forwarded_node(std::string_view text);

/// The client of a request. When the peer is not trusted (or nothing is), the peer itself and
/// "http": forwarding headers are ignored. When it is, the hops of `Forwarded` (if present) or
/// else `X-Forwarded-For` — every header line of that name, in order — are walked from the right,
/// skipping trusted addresses; the first untrusted one is the client. If every hop is trusted
/// the left-most is. A hop that is not an address (malformed, `unknown`, obfuscated, a Forwarded
/// element without `for=`) ends the walk at the last address seen, or the peer: text a client
/// wrote never becomes the address, and an address left of it could have been written by anyone.
/// The scheme is the `proto=` of the chosen Forwarded element, else the right-most
/// X-Forwarded-Proto value, if it is http or https. `headers` are (lower-case name, value).
ClientOrigin resolve_client(const boost::asio::ip::address& peer,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            const TrustedProxies& trusted);

}  // namespace teamreg::http
