#include "http/client_address.hpp"

#include <gtest/gtest.h>

#include <initializer_list>

namespace teamreg::http {
namespace {

namespace ip = boost::asio::ip;
using Headers = std::vector<std::pair<std::string, std::string>>;

TrustedProxies trusted(std::string_view list) {
  auto parsed = TrustedProxies::parse(list);
  EXPECT_TRUE(parsed) << list << ": " << (parsed ? "" : parsed.error());
  return parsed ? *parsed : TrustedProxies{};
}

ClientOrigin resolve(std::string_view peer, const Headers& headers, std::string_view proxies) {
  return resolve_client(ip::make_address(std::string(peer)), headers, trusted(proxies));
}

std::string client(std::string_view peer, const Headers& headers, std::string_view proxies) {
  return resolve(peer, headers, proxies).address;
}

Headers xff(std::initializer_list<std::string> values) {
  Headers headers{{"host", "example.test"}};
  for (const auto& value : values) headers.emplace_back("x-forwarded-for", value);
  return headers;
}

Headers forwarded(std::initializer_list<std::string> values) {
  Headers headers{{"host", "example.test"}};
  for (const auto& value : values) headers.emplace_back("forwarded", value);
  return headers;
}

bool in(std::string_view list, std::string_view address) {
  return trusted(list).contains(ip::make_address(std::string(address)));
}

// ---- CIDR parsing and matching ----------------------------------------------------------------

TEST(TrustedProxiesParse, EmptyListTrustsNobody) {
  for (const char* list : {"", " ", ",", " , "}) {
    const auto parsed = TrustedProxies::parse(list);
    ASSERT_TRUE(parsed) << list;
    EXPECT_TRUE(parsed->empty()) << list;
  }
}

TEST(TrustedProxiesParse, AcceptsIpv4Ipv6BareAddressesAndSpaces) {
  const auto parsed =
      TrustedProxies::parse(" 10.0.0.0/8,192.0.2.7 ,\t2001:db8::/32, ::1 ,0.0.0.0/0,::/0");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->size(), 6u);
}

TEST(TrustedProxiesParse, RefusesMalformedEntriesNamingThem) {
  for (const char* entry : {"10.0.0.0/33",  "::/129",       "10.0.0.0/",
                            "10.0.0.0/-1",  "10.0.0.0/+8",  "10.0.0.0/8/8",
                            "10.0.0.0/ 8",  "10.0.0.0/0x8", "10.0.0.0/0008",
                            "10.0.0",       "10.0.0.256",   "010.0.0.1",
                            "1.2.3.4.5",    "localhost",    "10.0.0.0/8x",
                            "fe80::1%eth0", "[::1]",        "[::1]/128",
                            "2001:db8::g",  "2001:db8:::1", "*",
                            "any",          "10.0.0.1:80",  "10.0.0.0 /8",
                            "1.2.3.4\n"}) {
    const auto parsed = TrustedProxies::parse(std::string("127.0.0.1,") + entry);
    ASSERT_FALSE(parsed) << entry;
    EXPECT_NE(parsed.error().find(std::string(entry).substr(0, 6)), std::string::npos)
        << entry << " -> " << parsed.error();
  }
}

TEST(TrustedProxiesParse, RefusesHostBitsBeyondThePrefix) {
  EXPECT_FALSE(TrustedProxies::parse("10.0.0.1/8"));
  EXPECT_FALSE(TrustedProxies::parse("192.168.1.128/24"));
  EXPECT_FALSE(TrustedProxies::parse("2001:db8::1/64"));
  EXPECT_FALSE(TrustedProxies::parse("10.0.0.0/0"));
  EXPECT_TRUE(TrustedProxies::parse("10.0.0.128/25"));
  EXPECT_TRUE(TrustedProxies::parse("2001:db8:0:8000::/49"));
}

TEST(TrustedProxiesContains, MatchesPrefixesExactly) {
  EXPECT_TRUE(in("10.0.0.0/8", "10.0.0.0"));
  EXPECT_TRUE(in("10.0.0.0/8", "10.255.255.255"));
  EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.0"));
  EXPECT_FALSE(in("10.0.0.0/8", "9.255.255.255"));
  EXPECT_TRUE(in("192.168.1.128/25", "192.168.1.200"));
  EXPECT_FALSE(in("192.168.1.128/25", "192.168.1.127"));
  EXPECT_TRUE(in("172.16.0.0/12", "172.31.255.1"));
  EXPECT_FALSE(in("172.16.0.0/12", "172.32.0.1"));
  EXPECT_TRUE(in("192.0.2.7", "192.0.2.7"));
  EXPECT_FALSE(in("192.0.2.7", "192.0.2.8"));
  EXPECT_TRUE(in("0.0.0.0/0", "203.0.113.9"));
  EXPECT_FALSE(in("0.0.0.0/0", "2001:db8::1"));
  EXPECT_TRUE(in("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_FALSE(in("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(in("2001:db8::/127", "2001:db8::1"));
  EXPECT_FALSE(in("2001:db8::/127", "2001:db8::2"));
  EXPECT_TRUE(in("::1", "::1"));
  EXPECT_FALSE(in("::1", "127.0.0.1"));
  EXPECT_FALSE(in("::/0", "127.0.0.1"));
  EXPECT_TRUE(in("::/0", "fe80::1"));
  EXPECT_FALSE(in("", "127.0.0.1"));
}

TEST(TrustedProxiesContains, Ipv4MappedAddressesMatchIpv4Networks) {
  EXPECT_TRUE(in("127.0.0.1/32", "::ffff:127.0.0.1"));
  EXPECT_TRUE(in("127.0.0.0/8", "::ffff:127.1.2.3"));
  EXPECT_FALSE(in("127.0.0.1/32", "::ffff:127.0.0.2"));
  // A mapped network in the list is the IPv4 network it maps.
  EXPECT_TRUE(in("::ffff:10.0.0.0/104", "10.1.2.3"));
  EXPECT_TRUE(in("::ffff:10.0.0.0/104", "::ffff:10.1.2.3"));
  EXPECT_TRUE(in("::ffff:192.0.2.1", "192.0.2.1"));
  EXPECT_FALSE(in("::ffff:10.0.0.0/104", "11.0.0.1"));
  // Not mapped: IPv4-compatible (deprecated) and NAT64 addresses are IPv6.
  EXPECT_FALSE(in("127.0.0.1/32", "::127.0.0.1"));
  EXPECT_FALSE(in("127.0.0.1/32", "64:ff9b::7f00:1"));
}

// ---- single nodes ------------------------------------------------------------------------------

TEST(ParseForwardedNode, AddressesWithAndWithoutPorts) {
  const auto text = [](std::string_view node) {
    const auto address = parse_forwarded_node(node);
    return address ? address->to_string() : std::string("-");
  };
  EXPECT_EQ(text("192.0.2.60"), "192.0.2.60");
  EXPECT_EQ(text("192.0.2.60:8080"), "192.0.2.60");
  EXPECT_EQ(text("192.0.2.60:_abc"), "192.0.2.60");
  EXPECT_EQ(text("2001:db8:cafe::17"), "2001:db8:cafe::17");
  EXPECT_EQ(text("2001:DB8:0:0::17"), "2001:db8::17");
  EXPECT_EQ(text("[2001:db8:cafe::17]"), "2001:db8:cafe::17");
  EXPECT_EQ(text("[2001:db8:cafe::17]:4711"), "2001:db8:cafe::17");
  EXPECT_EQ(text("::ffff:198.51.100.1"), "198.51.100.1");
  EXPECT_EQ(text("[::ffff:198.51.100.1]:80"), "198.51.100.1");
}

TEST(ParseForwardedNode, EverythingElseIsNotAnAddress) {
  for (const char* node : {"",
                           "unknown",
                           "UNKNOWN",
                           "_hidden",
                           "_SEVKISEK",
                           "192.0.2.60:",
                           "192.0.2.60:65536",
                           "192.0.2.60:123456",
                           "192.0.2.60:-1",
                           "192.0.2.60:_",
                           "192.0.2.60:_a b",
                           "192.0.2",
                           "192.0.2.256",
                           "0192.0.2.1",
                           "192.0.2.1 ",
                           " 192.0.2.1",
                           "[192.0.2.1]",
                           "[2001:db8::1",
                           "2001:db8::1]",
                           "[2001:db8::1]80",
                           "[2001:db8::1]:",
                           "[2001:db8::1]:x",
                           "2001:db8::1:80:80:80:80:80",
                           "fe80::1%eth0",
                           "[fe80::1%25eth0]",
                           "::1:80x",
                           "example.com",
                           "localhost",
                           "1.2.3.4, 5.6.7.8",
                           "\"1.2.3.4\"",
                           "0x7f.0.0.1",
                           "2130706433",
                           "[[::1]]",
                           "[]",
                           "[]:80",
                           "1.2.3.4:80:80"}) {
    EXPECT_FALSE(parse_forwarded_node(node)) << '"' << node << '"';
  }
  EXPECT_FALSE(parse_forwarded_node(std::string_view("1.2.3.4\0", 8)));
  EXPECT_FALSE(parse_forwarded_node(std::string(200, '1')));
}

// ---- untrusted peers and no configuration ----------------------------------------------------

TEST(ResolveClient, WithoutTrustedProxiesHeadersAreIgnored) {
  const Headers headers = {{"x-forwarded-for", "203.0.113.9"},
                           {"forwarded", "for=203.0.113.10;proto=https"},
                           {"x-forwarded-proto", "https"}};
  const auto origin = resolve("127.0.0.1", headers, "");
  EXPECT_EQ(origin.address, "127.0.0.1");
  EXPECT_EQ(origin.scheme, "http");
}

TEST(ResolveClient, AnUntrustedPeerIsTheClientWhateverItClaims) {
  const Headers headers = {{"x-forwarded-for", "10.0.0.5"},
                           {"forwarded", "for=10.0.0.5;proto=https"},
                           {"x-forwarded-proto", "https"}};
  const auto origin = resolve("198.51.100.7", headers, "10.0.0.0/8,127.0.0.1");
  EXPECT_EQ(origin.address, "198.51.100.7");
  EXPECT_EQ(origin.scheme, "http");
}

TEST(ResolveClient, PeerAddressIsCanonical) {
  EXPECT_EQ(client("::ffff:198.51.100.7", {}, ""), "198.51.100.7");
  EXPECT_EQ(client("2001:0db8:0000::0001", {}, ""), "2001:db8::1");
}

TEST(ResolveClient, TrustedPeerWithoutForwardingHeadersIsTheClient) {
  const auto origin = resolve("127.0.0.1", {{"host", "x"}}, "127.0.0.1");
  EXPECT_EQ(origin.address, "127.0.0.1");
  EXPECT_EQ(origin.scheme, "http");
  EXPECT_EQ(client("127.0.0.1", xff({""}), "127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", xff({" , ,"}), "127.0.0.1"), "127.0.0.1");
}

TEST(ResolveClient, MappedPeerMatchesIpv4Cidr) {
  EXPECT_EQ(client("::ffff:127.0.0.1", xff({"203.0.113.9"}), "127.0.0.1/32"), "203.0.113.9");
  EXPECT_EQ(client("::ffff:127.0.0.1", xff({"203.0.113.9"}), "::1"), "127.0.0.1");
}

// ---- X-Forwarded-For walk ----------------------------------------------------------------------

TEST(ResolveClient, XffRightMostUntrustedAddressIsTheClient) {
  EXPECT_EQ(client("127.0.0.1", xff({"203.0.113.9"}), "127.0.0.1"), "203.0.113.9");
  // A client-supplied prefix is not believed: the proxy appended the real address on the right.
  EXPECT_EQ(client("127.0.0.1", xff({"1.1.1.1, 203.0.113.9"}), "127.0.0.1"), "203.0.113.9");
  EXPECT_EQ(client("127.0.0.1", xff({"10.0.0.1, 203.0.113.9"}), "127.0.0.1,10.0.0.0/8"),
            "203.0.113.9");
  // Trusted hops on the right are skipped.
  EXPECT_EQ(client("10.0.0.2", xff({"1.1.1.1, 203.0.113.9, 10.0.0.3, 10.0.0.4"}), "10.0.0.0/8"),
            "203.0.113.9");
}

TEST(ResolveClient, XffAllTrustedUsesTheLeftMost) {
  EXPECT_EQ(client("10.0.0.2", xff({"10.0.0.9, 10.0.0.3"}), "10.0.0.0/8"), "10.0.0.9");
  EXPECT_EQ(client("10.0.0.2", xff({"10.0.0.3"}), "10.0.0.0/8"), "10.0.0.3");
}

TEST(ResolveClient, XffSeveralHeaderLinesAreConcatenatedInOrder) {
  EXPECT_EQ(client("127.0.0.1", xff({"1.1.1.1", "203.0.113.9"}), "127.0.0.1"), "203.0.113.9");
  EXPECT_EQ(client("10.0.0.2", xff({"1.1.1.1, 203.0.113.9", "10.0.0.3"}), "10.0.0.0/8"),
            "203.0.113.9");
  EXPECT_EQ(client("10.0.0.2", xff({"203.0.113.9", "10.0.0.3", ""}), "10.0.0.0/8"), "203.0.113.9");
  // Other headers between the lines do not matter.
  Headers headers = xff({"198.51.100.1"});
  headers.emplace_back("x-other", "1");
  headers.emplace_back("x-forwarded-for", "198.51.100.2");
  EXPECT_EQ(client("127.0.0.1", headers, "127.0.0.1"), "198.51.100.2");
}

TEST(ResolveClient, XffMalformedHopEndsTheWalkAtTheLastGoodAddress) {
  // Garbage the client wrote left of the proxy's entry changes nothing.
  EXPECT_EQ(client("127.0.0.1", xff({"garbage, 203.0.113.9"}), "127.0.0.1"), "203.0.113.9");
  // Garbage right after trusted hops: the last good (trusted) address, never the garbage.
  EXPECT_EQ(client("10.0.0.2", xff({"203.0.113.9, garbage, 10.0.0.3"}), "10.0.0.0/8"), "10.0.0.3");
  // Garbage right-most: the peer.
  for (const char* value :
       {"garbage", "203.0.113.9, garbage", "unknown", "203.0.113.9 1.1.1.1", "203.0.113.9;1.1.1.1",
        "<script>", "203.0.113.9\t garbage", "1.1.1.1, 999.1.1.1", "1.1.1.1, [::1"}) {
    EXPECT_EQ(client("127.0.0.1", xff({value}), "127.0.0.1"), "127.0.0.1") << value;
  }
  EXPECT_EQ(client("127.0.0.1", xff({"203.0.113.9", "garbage"}), "127.0.0.1"), "127.0.0.1");
}

TEST(ResolveClient, XffEmptyElementsAreIgnored) {
  EXPECT_EQ(client("127.0.0.1", xff({", 203.0.113.9,"}), "127.0.0.1"), "203.0.113.9");
  EXPECT_EQ(client("10.0.0.2", xff({"203.0.113.9, , 10.0.0.3"}), "10.0.0.0/8"), "203.0.113.9");
}

TEST(ResolveClient, XffAddressFormsAndCanonicalText) {
  EXPECT_EQ(client("127.0.0.1", xff({"203.0.113.9:4711"}), "127.0.0.1"), "203.0.113.9");
  EXPECT_EQ(client("127.0.0.1", xff({"2001:DB8::0:1"}), "127.0.0.1"), "2001:db8::1");
  EXPECT_EQ(client("127.0.0.1", xff({"[2001:db8::1]:443"}), "127.0.0.1"), "2001:db8::1");
  // A mapped address and its IPv4 form are one client (one rate-limit bucket).
  EXPECT_EQ(client("127.0.0.1", xff({"::ffff:203.0.113.9"}), "127.0.0.1"), "203.0.113.9");
  // ...and a mapped trusted address is skipped like its IPv4 form.
  EXPECT_EQ(client("127.0.0.1", xff({"203.0.113.9, ::ffff:127.0.0.1"}), "127.0.0.1"),
            "203.0.113.9");
}

TEST(ResolveClient, XffOverIpv6Peers) {
  EXPECT_EQ(client("::1", xff({"2001:db8::7, fd00::2"}), "::1,fd00::/8"), "2001:db8::7");
  EXPECT_EQ(client("fd00::1", xff({"198.51.100.1"}), "fd00::/8"), "198.51.100.1");
}

TEST(ResolveClient, SpoofingAttemptsDoNotEscapeTheRealAddress) {
  // The client claims to be a trusted proxy: the proxy's appended entry is still right-most.
  EXPECT_EQ(client("10.0.0.2", xff({"10.0.0.7, 203.0.113.9"}), "10.0.0.0/8"), "203.0.113.9");
  // The client sends its own header line; the proxy adds another after it.
  EXPECT_EQ(client("10.0.0.2", xff({"127.0.0.1, 10.0.0.1", "203.0.113.9"}), "10.0.0.0/8"),
            "203.0.113.9");
  // A client of the proxy that sends Forwarded headers when the proxy uses Forwarded too.
  EXPECT_EQ(client("10.0.0.2", forwarded({"for=10.0.0.7", "for=203.0.113.9"}), "10.0.0.0/8"),
            "203.0.113.9");
  // A stray quote from the client cannot swallow the element the proxy appended on the same line.
  EXPECT_EQ(client("10.0.0.2", forwarded({"for=\"1.1.1.1, for=203.0.113.9"}), "10.0.0.0/8"),
            "203.0.113.9");
  EXPECT_EQ(client("10.0.0.2", forwarded({"for=\", for=\"[2001:db8::1]:4711\""}), "10.0.0.0/8"),
            "2001:db8::1");
  EXPECT_EQ(client("10.0.0.2", forwarded({"for=\"", "for=203.0.113.9"}), "10.0.0.0/8"),
            "203.0.113.9");
}

// ---- Forwarded (RFC 7239)
// ------------------------------------------------------------------------

TEST(ResolveClient, ForwardedExamplesFromTheRfc) {
  EXPECT_EQ(client("127.0.0.1", forwarded({"for=\"_gazonk\""}), "127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", forwarded({"For=\"[2001:db8:cafe::17]:4711\""}), "127.0.0.1"),
            "2001:db8:cafe::17");
  EXPECT_EQ(
      client("127.0.0.1", forwarded({"for=192.0.2.60;proto=http;by=203.0.113.43"}), "127.0.0.1"),
      "192.0.2.60");
  EXPECT_EQ(client("127.0.0.1", forwarded({"for=192.0.2.43, for=198.51.100.17"}), "127.0.0.1"),
            "198.51.100.17");
  EXPECT_EQ(
      client("127.0.0.1", forwarded({"for=192.0.2.43,for=\"[2001:db8:cafe::17]\""}), "127.0.0.1"),
      "2001:db8:cafe::17");
  EXPECT_EQ(client("127.0.0.1", forwarded({"for=\"192.0.2.43:47011\""}), "127.0.0.1"),
            "192.0.2.43");
}

TEST(ResolveClient, ForwardedWalkSkipsTrustedHops) {
  EXPECT_EQ(
      client("10.0.0.1", forwarded({"for=203.0.113.9, for=10.0.0.3;by=10.0.0.1"}), "10.0.0.0/8"),
      "203.0.113.9");
  EXPECT_EQ(client("10.0.0.1", forwarded({"for=10.0.0.9, for=10.0.0.3"}), "10.0.0.0/8"),
            "10.0.0.9");
  EXPECT_EQ(client("10.0.0.1", forwarded({"for=203.0.113.9", "for=10.0.0.3"}), "10.0.0.0/8"),
            "203.0.113.9");
}

TEST(ResolveClient, ForwardedUnknownObfuscatedAndMalformedEndTheWalk) {
  EXPECT_EQ(client("10.0.0.1", forwarded({"for=203.0.113.9, for=unknown"}), "10.0.0.0/8"),
            "10.0.0.1");
  EXPECT_EQ(
      client("10.0.0.1", forwarded({"for=203.0.113.9, for=_hidden, for=10.0.0.3"}), "10.0.0.0/8"),
      "10.0.0.3");
  EXPECT_EQ(client("10.0.0.1", forwarded({"for=203.0.113.9, proto=https"}), "10.0.0.0/8"),
            "10.0.0.1");
  for (const char* value :
       {"for=203.0.113.9;for=198.51.100.1", "for=", "for", "=203.0.113.9", "for=2001:db8::1",
        "for=[2001:db8::1]", "for=\"203.0.113.9", "for=203.0.113.9\"", "for=\"203.0.113.9\\\"\"",
        "for=\"\\1.2.3.4\"", "for=\"2001:db8::1\"x", "for=1.2.3.4 x", "f r=1.2.3.4", "for=a\"b",
        "proto=https;proto=http;for=203.0.113.9", "for=\"\"", "for=203.0.113.9;by=\"x",
        "for=\"unknown\"", "for=\"_x:80\""}) {
    EXPECT_EQ(client("127.0.0.1", forwarded({value}), "127.0.0.1"), "127.0.0.1") << value;
  }
}

TEST(ResolveClient, ForwardedParametersAreCaseInsensitiveAndMayBeEmpty) {
  EXPECT_EQ(client("127.0.0.1", forwarded({"FOR=203.0.113.9"}), "127.0.0.1"), "203.0.113.9");
  EXPECT_EQ(client("127.0.0.1", forwarded({";for=203.0.113.9;;by=x;"}), "127.0.0.1"),
            "203.0.113.9");
  EXPECT_EQ(client("127.0.0.1", forwarded({"host=\"a;b,c\";for=203.0.113.9"}), "127.0.0.1"),
            "203.0.113.9");
  // A quoted unbracketed IPv6 address is not ambiguous (no port), so it is accepted.
  EXPECT_EQ(client("127.0.0.1", forwarded({"for=\"2001:db8::1\""}), "127.0.0.1"), "2001:db8::1");
}

TEST(ResolveClient, ForwardedIsPreferredOverXff) {
  Headers headers = {{"x-forwarded-for", "198.51.100.1"}, {"forwarded", "for=203.0.113.9"}};
  EXPECT_EQ(client("127.0.0.1", headers, "127.0.0.1"), "203.0.113.9");
  // Even a Forwarded that names nobody wins: it is what the proxy said.
  headers = {{"x-forwarded-for", "198.51.100.1"}, {"forwarded", "for=unknown"}};
  EXPECT_EQ(client("127.0.0.1", headers, "127.0.0.1"), "127.0.0.1");
  // An empty Forwarded header is no header.
  headers = {{"x-forwarded-for", "198.51.100.1"}, {"forwarded", " "}};
  EXPECT_EQ(client("127.0.0.1", headers, "127.0.0.1"), "198.51.100.1");
}

// ---- scheme
// --------------------------------------------------------------------------------------

TEST(ResolveClient, XForwardedProtoIsBelievedOnlyFromTrustedPeers) {
  const Headers headers = {{"x-forwarded-proto", "https"}};
  EXPECT_EQ(resolve("127.0.0.1", headers, "127.0.0.1").scheme, "https");
  EXPECT_EQ(resolve("127.0.0.2", headers, "127.0.0.1").scheme, "http");
  EXPECT_EQ(resolve("127.0.0.1", {{"x-forwarded-proto", "HTTPS "}}, "127.0.0.1").scheme, "https");
  EXPECT_EQ(resolve("127.0.0.1", {{"x-forwarded-proto", "http"}}, "127.0.0.1").scheme, "http");
  EXPECT_EQ(resolve("127.0.0.1", {{"x-forwarded-proto", "wss"}}, "127.0.0.1").scheme, "http");
  EXPECT_EQ(resolve("127.0.0.1", {{"x-forwarded-proto", "https\"x"}}, "127.0.0.1").scheme, "http");
  // The right-most value is the nearest (trusted) proxy's.
  EXPECT_EQ(resolve("127.0.0.1", {{"x-forwarded-proto", "https, http"}}, "127.0.0.1").scheme,
            "http");
  EXPECT_EQ(resolve("127.0.0.1", {{"x-forwarded-proto", "http"}, {"x-forwarded-proto", "https"}},
                    "127.0.0.1")
                .scheme,
            "https");
}

TEST(ResolveClient, ForwardedProtoOfTheChosenElementWins) {
  EXPECT_EQ(resolve("127.0.0.1", forwarded({"for=203.0.113.9;proto=https"}), "127.0.0.1").scheme,
            "https");
  EXPECT_EQ(resolve("10.0.0.1", forwarded({"for=203.0.113.9;proto=https, for=10.0.0.2;proto=http"}),
                    "10.0.0.0/8")
                .scheme,
            "https");
  Headers headers = forwarded({"for=203.0.113.9"});
  headers.emplace_back("x-forwarded-proto", "https");
  EXPECT_EQ(resolve("127.0.0.1", headers, "127.0.0.1").scheme, "https");
  headers = forwarded({"for=203.0.113.9;proto=http"});
  headers.emplace_back("x-forwarded-proto", "https");
  EXPECT_EQ(resolve("127.0.0.1", headers, "127.0.0.1").scheme, "http");
  EXPECT_EQ(resolve("127.0.0.2", forwarded({"for=203.0.113.9;proto=https"}), "127.0.0.1").scheme,
            "http");
}

}  // namespace
}  // namespace teamreg::http
