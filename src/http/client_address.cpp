#include "http/client_address.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace teamreg::http {
namespace {

namespace ip = boost::asio::ip;

constexpr std::size_t kMaxAddressChars = 45;  // INET6_ADDRSTRLEN - 1

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; };
           return lower(x) == lower(y);
         });
}

/// An IPv4 or IPv6 address in plain notation. The character check comes first because the
/// parser below reads a C string (an embedded NUL would end it early) and accepts zone IDs.
std::optional<ip::address> plain_address(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressChars) return std::nullopt;
  const bool plausible = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
  });
  if (!plausible) return std::nullopt;
  boost::system::error_code ec;
  const auto address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return address;
}

/// RFC 7239 node-port: a decimal port, or an obfuscated one ("_" then ALPHA / DIGIT / . _ -).
bool valid_port(std::string_view port) {
  if (port.empty()) return false;
  if (port.front() == '_') {
    return port.size() > 1 && std::all_of(port.begin() + 1, port.end(), [](char c) {
             return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
           });
  }
  if (port.size() > 5) return false;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc{} && end == port.data() + port.size() && value <= 65535;
}

std::array<std::uint8_t, 16> address_bytes(const ip::address& address) {
  std::array<std::uint8_t, 16> bytes{};
  if (address.is_v4()) {
    const auto v4 = address.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), bytes.begin());
  } else {
    const auto v6 = address.to_v6().to_bytes();
    std::copy(v6.begin(), v6.end(), bytes.begin());
  }
  return bytes;
}

/// True when the first `bits` bits of a and b are equal.
bool same_prefix(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                 unsigned bits) {
  const unsigned whole = bits / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

/// One hop of a forwarding chain; node is nullopt when the hop does not name an address.
struct Hop {
  std::optional<ip::address> node;
  std::string_view proto;
};

/// The non-empty elements of a comma-separated header line, left to right. Commas inside
/// quoted strings do not split. Quotes are matched scanning from the right: the right end of the
/// line was written by the nearest proxy, so a stray quote a client put further left cannot
/// swallow the elements that proxies appended after it. (Empty list elements are ignored, as
/// RFC 9110 §5.6.1 asks of recipients.)
std::vector<std::string_view> list_elements(std::string_view line, bool quoted_strings) {
  std::vector<std::string_view> elements;
  bool in_quotes = false;
  std::size_t end = line.size();
  for (std::size_t i = line.size(); i-- > 0;) {
    const char c = line[i];
    if (quoted_strings && c == '"') in_quotes = !in_quotes;
    if (c == ',' && !in_quotes) {
      if (const auto element = trim(line.substr(i + 1, end - i - 1)); !element.empty()) {
        elements.push_back(element);
      }
      end = i;
    }
  }
  if (const auto element = trim(line.substr(0, end)); !element.empty()) {
    elements.push_back(element);
  }
  std::reverse(elements.begin(), elements.end());
  return elements;
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), token_char);
}

/// A Forwarded element: `pair *(";" pair)`, pair = token "=" (token / quoted-string). Anything
/// that does not fit (unbalanced quotes, escapes, a parameter twice) is a hop without a node.
Hop forwarded_hop(std::string_view element) {
  std::optional<std::string_view> for_value;
  std::optional<std::string_view> proto;
  std::size_t start = 0;
  bool in_quotes = false;
  for (std::size_t i = 0; i <= element.size(); ++i) {
    if (i < element.size()) {
      if (element[i] == '"') in_quotes = !in_quotes;
      if (element[i] != ';' || in_quotes) continue;
    }
    if (in_quotes) return {};
    const std::string_view pair = trim(element.substr(start, i - start));
    start = i + 1;
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) return {};
    const std::string_view name = pair.substr(0, equals);
    std::string_view value = pair.substr(equals + 1);
    if (!is_token(name)) return {};
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
      // Quoted-pairs are legal but no proxy writes them in an address; refusing them keeps the
      // right-to-left quote matching of list_elements exact.
      if (value.find_first_of("\"\\") != std::string_view::npos) return {};
    } else if (!is_token(value)) {
      return {};
    }
    if (iequals(name, "for")) {
      if (for_value) return {};
      for_value = value;
    } else if (iequals(name, "proto")) {
      if (proto) return {};
      proto = value;
    }
  }
  if (!for_value) return {};
  return Hop{parse_forwarded_node(*for_value), proto.value_or(std::string_view{})};
}

std::vector<Hop> forwarded_hops(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<Hop> hops;
  for (const auto& [name, value] : headers) {
    if (name != "forwarded") continue;
    for (const auto element : list_elements(value, true)) hops.push_back(forwarded_hop(element));
  }
  return hops;
}

std::vector<Hop> x_forwarded_for_hops(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<Hop> hops;
  for (const auto& [name, value] : headers) {
    if (name != "x-forwarded-for") continue;
    for (const auto element : list_elements(value, false)) {
      hops.push_back(Hop{parse_forwarded_node(element), {}});
    }
  }
  return hops;
}

/// The hop that names the client, or nullptr when the peer itself is the best answer.
const Hop* walk(const std::vector<Hop>& hops, const TrustedProxies& trusted) {
  const Hop* last_good = nullptr;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!it->node) break;
    last_good = &*it;
    if (!trusted.contains(*it->node)) break;
  }
  return last_good;
}

std::optional<std::string> scheme_of(std::string_view proto) {
  proto = trim(proto);
  if (iequals(proto, "https")) return "https";
  if (iequals(proto, "http")) return "http";
  return std::nullopt;
}

}  // namespace

ip::address canonical_address(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::optional<ip::address> parse_forwarded_node(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto address = plain_address(text.substr(1, close - 1));
    if (!address || !address->is_v6()) return std::nullopt;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !valid_port(rest.substr(1)))) {
      return std::nullopt;
    }
    return canonical_address(*address);
  }
  if (const auto address = plain_address(text)) return canonical_address(*address);
  // IPv4:port. An unbracketed IPv6 address with a port cannot be told apart, so it is refused.
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || !valid_port(text.substr(colon + 1))) return std::nullopt;
  const auto address = plain_address(text.substr(0, colon));
  if (!address || !address->is_v4()) return std::nullopt;
  return *address;
}

tl::expected<TrustedProxies, std::string> TrustedProxies::parse(std::string_view list) {
  TrustedProxies proxies;
  for (const auto entry : list_elements(list, false)) {
    const auto slash = entry.find('/');
    const std::string_view address_text = entry.substr(0, slash);
    auto address = plain_address(address_text);
    if (!address) {
      return tl::unexpected(
          fmt::format("'{}' is not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, ::1)", entry));
    }
    const unsigned max_bits = address->is_v4() ? 32 : 128;
    unsigned bits = max_bits;
    if (slash != std::string_view::npos) {
      const std::string_view bits_text = entry.substr(slash + 1);
      const auto [end, ec] =
          std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
      if (bits_text.empty() || bits_text.size() > 3 || ec != std::errc{} ||
          end != bits_text.data() + bits_text.size() || bits > max_bits) {
        return tl::unexpected(fmt::format("'{}' has an invalid prefix length (0 to {} for IPv{})",
                                          entry, max_bits, address->is_v4() ? 4 : 6));
      }
    }
    if (address->is_v6() && address->to_v6().is_v4_mapped() && bits >= 96) {
      address = canonical_address(*address);
      bits -= 96;
    }
    Network network{address->is_v4(), address_bytes(*address), bits};
    std::array<std::uint8_t, 16> masked{};
    for (unsigned i = 0; i < bits; ++i) {
      masked[i / 8] =
          static_cast<std::uint8_t>(masked[i / 8] | (network.bytes[i / 8] & (0x80u >> (i % 8))));
    }
    if (masked != network.bytes) {
      return tl::unexpected(fmt::format(
          "'{}' has bits set beyond its prefix length; write the network address", entry));
    }
    proxies.networks_.push_back(network);
  }
  return proxies;
}

bool TrustedProxies::contains(const ip::address& address) const {
  const auto canonical = canonical_address(address);
  const bool v4 = canonical.is_v4();
  const auto bytes = address_bytes(canonical);
  return std::any_of(networks_.begin(), networks_.end(), [&](const Network& network) {
    return network.v4 == v4 && same_prefix(network.bytes, bytes, network.prefix_bits);
  });
}

ClientOrigin resolve_client(const ip::address& peer,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            const TrustedProxies& trusted) {
  ClientOrigin origin;
  origin.address = canonical_address(peer).to_string();
  if (trusted.empty() || !trusted.contains(peer)) return origin;

  std::vector<Hop> hops = forwarded_hops(headers);
  const bool use_forwarded = !hops.empty();
  if (!use_forwarded) hops = x_forwarded_for_hops(headers);
  const Hop* client = walk(hops, trusted);
  if (client != nullptr) origin.address = client->node->to_string();

  std::optional<std::string> scheme;
  if (use_forwarded && client != nullptr) scheme = scheme_of(client->proto);
  if (!scheme) {
    std::string_view right_most;
    for (const auto& [name, value] : headers) {
      if (name != "x-forwarded-proto") continue;
      if (const auto elements = list_elements(value, false); !elements.empty()) {
        right_most = elements.back();
      }
    }
    scheme = scheme_of(right_most);
  }
  if (scheme) origin.scheme = *scheme;
  return origin;
}

}  // namespace teamreg::http
