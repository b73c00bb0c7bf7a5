"""Client address behind reverse proxies (issue 9): --trusted-proxies decides whether X-Forwarded-For and
Forwarded are believed, and the resulting address is what the registration rate limit, the admin failure limit
and the access log use. The test client connects from 127.0.0.1, so "the proxy" is the test itself."""

import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, admin_request, create_admin_token, register  # noqa: E402

A = "198.51.100.10"
B = "203.0.113.20"
A6 = "2001:db8::a"
PROXY = "127.0.0.1/32"
RATE = 2  # registrations per minute and address: the third one from an address within the test is 429


def xff(address: str) -> dict:
    return {"X-Forwarded-For": address}


def fwd(address: str) -> dict:
    node = f'"[{address}]:4711"' if ":" in address else address
    return {"Forwarded": f"for={node};proto=https"}


class RateLimitBuckets(E2ETestCase):
    def assertLimitedAfter(self, server: h.Server, headers: dict) -> h.Response:
        limited = register(server, headers=headers)
        self.assertError(limited, 429, "RATE_LIMITED")
        self.assertTrue((limited.header("Retry-After") or "").isdigit(), limited.describe())
        return limited

    def test_trusted_proxy_x_forwarded_for_addresses_get_separate_buckets(self):
        server = self.start_server("--trusted-proxies", PROXY, rate_limit=RATE)
        accepted = [register(server, headers=xff(A)) for _ in range(RATE)]
        for resp in accepted:
            self.assertCreated(resp)
        self.assertLimitedAfter(server, xff(A))
        # B is another client behind the same proxy: its own bucket.
        other = register(server, headers=xff(B))
        self.assertCreated(other)
        accepted.append(other)
        # A client-supplied prefix does not change who the proxy says the client is.
        self.assertLimitedAfter(server, xff(f"{B}, {A}"))
        # The proxy's own requests (no header) are a third bucket.
        mine = register(server)
        self.assertCreated(mine)
        accepted.append(mine)
        self.assertEqual(server.backend().team_count(), RATE + 2)
        self.assertInvariants(server, accepted)

    def test_trusted_proxy_forwarded_addresses_get_separate_buckets(self):
        server = self.start_server("--trusted-proxies", PROXY, rate_limit=RATE)
        for _ in range(RATE):
            self.assertCreated(register(server, headers=fwd(A6)))
        self.assertLimitedAfter(server, fwd(A6))
        # The same IPv6 client spelled another way is still the same client.
        self.assertLimitedAfter(server, {"Forwarded": 'for="[2001:DB8:0::A]"'})
        self.assertCreated(register(server, headers=fwd(B)))
        # Forwarded is preferred over X-Forwarded-For when both are present.
        self.assertLimitedAfter(server, {**fwd(A6), **xff(B)})
        self.assertEqual(server.backend().team_count(), RATE + 1)

    def test_without_the_flag_spoofed_headers_share_the_peers_bucket(self):
        server = self.start_server(rate_limit=RATE)
        self.assertCreated(register(server, headers=xff(A)))
        self.assertCreated(register(server, headers=xff(B)))
        self.assertLimitedAfter(server, xff("192.0.2.99"))
        self.assertLimitedAfter(server, fwd(A6))
        self.assertLimitedAfter(server, {})
        self.assertEqual(server.backend().team_count(), RATE)

    def test_without_the_flag_spoofed_forwarded_headers_share_the_peers_bucket(self):
        server = self.start_server(rate_limit=RATE)
        self.assertCreated(register(server, headers=fwd(A)))
        self.assertCreated(register(server, headers=fwd(A6)))
        self.assertLimitedAfter(server, fwd(B))
        self.assertEqual(server.backend().team_count(), RATE)

    def test_a_peer_outside_the_trusted_networks_is_not_believed(self):
        server = self.start_server("--trusted-proxies", "10.0.0.0/8, 2001:db8::/32", rate_limit=RATE)
        self.assertCreated(register(server, headers=xff(A)))
        self.assertCreated(register(server, headers=fwd(B)))
        self.assertLimitedAfter(server, xff("192.0.2.99"))
        self.assertEqual(server.backend().team_count(), RATE)

    def test_the_environment_variable_works_like_the_flag(self):
        server = self.start_server(rate_limit=RATE, env={"TEAMREG_TRUSTED_PROXIES": "::1, 127.0.0.0/8"})
        for _ in range(RATE):
            self.assertCreated(register(server, headers=xff(A)))
        self.assertLimitedAfter(server, xff(A))
        self.assertCreated(register(server, headers=xff(B)))

    def test_garbage_from_the_client_never_becomes_its_address(self):
        server = self.start_server("--trusted-proxies", PROXY, rate_limit=RATE)
        # Unparseable right-most hops fall back to the peer: these all share the proxy's bucket.
        self.assertCreated(register(server, headers=xff("not-an-address")))
        self.assertCreated(register(server, headers={"Forwarded": "for=unknown"}))
        self.assertLimitedAfter(server, xff(f"{A}, 1.2.3.4:99999"))
        self.assertLimitedAfter(server, {"Forwarded": "for=_hidden"})
        self.assertLimitedAfter(server, {})
        # ...while a well-formed hop is still believed.
        self.assertCreated(register(server, headers=xff(A)))


class AccessLog(E2ETestCase):
    def test_access_lines_carry_the_client_address(self):
        server = self.start_server("--trusted-proxies", PROXY)
        # Each answer is logged after it is written, so two quick requests may log in either order:
        # lines are matched by request ID.
        self.assertEqual(h.get(server, "/health", headers={**xff(A), "X-Request-ID": "xff-a"}).status, 200)
        self.assertEqual(h.get(server, "/health", headers={**fwd(A6), "X-Request-ID": "fwd-a6"}).status, 200)
        self.assertEqual(h.get(server, "/health", headers={**xff("<script>"), "X-Request-ID": "xff-bad"}).status,
                         200)
        plain = self.start_server()
        self.assertEqual(h.get(plain, "/health", headers=xff(A)).status, 200)
        server.stop()
        plain.stop()
        lines = [line for line in server.stderr_text(whole=True).splitlines() if "request request_id=" in line]
        clients = {re.search(r"\brequest_id=(\S+)", line).group(1): re.search(r"\bclient=(\S+)", line).group(1)
                   for line in lines if "route=/health" in line}
        self.assertEqual(clients, {"xff-a": A, "fwd-a6": A6, "xff-bad": "127.0.0.1"}, lines)
        self.assertIn("trusted proxies networks=1", server.stderr_text(whole=True))
        plain_lines = [line for line in plain.stderr_text(whole=True).splitlines() if "route=/health" in line]
        self.assertEqual(len(plain_lines), 1, plain_lines)
        self.assertIn("client=127.0.0.1", plain_lines[0])
        self.assertNotIn(A, plain.stderr_text(whole=True))


class AdminFailureLimit(E2ETestCase):
    def test_failure_limit_keys_on_the_forwarded_address(self):
        server = self.start_server("--trusted-proxies", PROXY, "--admin-failure-limit", "3")
        token = create_admin_token(server)
        wrong = "1" * 64
        for _ in range(3):
            self.assertError(admin_request(server, "GET", "/admin/teams", wrong, headers=xff(A)), 401,
                             "UNAUTHORIZED")
        self.assertError(admin_request(server, "GET", "/admin/teams", wrong, headers=xff(A)), 429, "RATE_LIMITED")
        # B's failures are its own: still 401 until B reaches the limit.
        for _ in range(3):
            self.assertError(admin_request(server, "GET", "/admin/teams", wrong, headers=xff(B)), 401,
                             "UNAUTHORIZED")
        self.assertError(admin_request(server, "GET", "/admin/teams", wrong, headers=xff(B)), 429, "RATE_LIMITED")
        # The proxy itself (and so any other client) is unaffected, and a valid token works for everyone.
        self.assertError(admin_request(server, "GET", "/admin/teams", wrong), 401, "UNAUTHORIZED")
        for headers in (xff(A), xff(B), {}):
            resp = admin_request(server, "GET", "/admin/teams", token, headers=headers)
            self.assertEqual(resp.status, 200, resp.describe())
        server.stop()
        log = server.stderr_text(whole=True)
        self.assertIn(f"admin authentication blocked client={A}", log)
        self.assertIn(f"admin authentication blocked client={B}", log)
        self.assertNotIn(wrong, log)
        self.assertNotIn(token, log)

    def test_without_the_flag_the_failure_limit_keys_on_the_peer(self):
        server = self.start_server("--admin-failure-limit", "3")
        wrong = "1" * 64
        for address in (A, B, A6):
            self.assertError(admin_request(server, "GET", "/admin/teams", wrong, headers=xff(address)), 401,
                             "UNAUTHORIZED")
        self.assertError(admin_request(server, "GET", "/admin/teams", wrong, headers=xff("192.0.2.99")), 429,
                         "RATE_LIMITED")


class InvalidTrustedProxies(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="teamreg-e2e-proxies-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def assertRefused(self, value: str, env: bool = False):
        args = ["serve", "--data-dir", os.path.join(self.dir, "data"), "--listen", "127.0.0.1:0"]
        if not env:
            args += ["--trusted-proxies", value]
        result = h.run_cli(*args, env={"TEAMREG_TRUSTED_PROXIES": value} if env else None)
        detail = f"{value!r} (env={env}): exit {result.returncode}, stdout {result.stdout!r}, stderr {result.stderr!r}"
        self.assertGreater(result.returncode, 0, detail)
        self.assertNotIn("listening on", result.stdout, detail)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, f"one clear message expected; {detail}")
        self.assertIn("--trusted-proxies", lines[0], detail)
        self.assertNotIn("AddressSanitizer", result.stderr, detail)

    def test_an_invalid_cidr_stops_the_server_with_one_message(self):
        for value in ("10.0.0.0/33", "10.0.0.1/8", "not-an-address", "127.0.0.1, ::1/129", "fe80::1%lo",
                      "10.0.0.0/8/8", "localhost", "2001:db8::1/64", "127.0.0.1:8080"):
            with self.subTest(value=value):
                self.assertRefused(value)
        self.assertRefused("10.0.0.0/33", env=True)


if __name__ == "__main__":
    unittest.main()
