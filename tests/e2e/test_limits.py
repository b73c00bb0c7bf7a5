"""Abuse limits (rate limit, slow clients, oversized headers and bodies), graceful shutdown and invalid
configuration."""

import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, get, register, request  # noqa: E402

SLOW_CLIENTS = 10
SLOW_CLIENT_LIMIT_S = 120  # far above any sane header timeout, so only a missing timeout fails
CRASH_MARKERS = ("AddressSanitizer", "runtime error", "terminate called", "Traceback", "Segmentation fault",
                 "core dumped", "Aborted")


class RateLimit(E2ETestCase):
    def test_fourth_registration_within_a_minute_is_429(self):
        server = self.start_server(rate_limit=3)
        accepted = [register(server) for _ in range(3)]
        self.assertEqual([self.assertCreated(r) for r in accepted], h.team_ids(range(1, 4)))
        limited = register(server)
        self.assertError(limited, 429, "RATE_LIMITED")
        retry_after = limited.header("Retry-After") or ""
        self.assertTrue(retry_after.isdigit() and 1 <= int(retry_after) <= 60, limited.describe())
        preflight = request(server, "OPTIONS", h.REGISTRATION_PATH,
                            headers={"Access-Control-Request-Method": "POST"})
        self.assertEqual(preflight.status, 204, preflight.describe())
        self.assertEqual(get(server, "/api/teams").status, 200)
        self.assertEqual(server.backend().team_count(), 3)
        self.assertInvariants(server, accepted)


class SlowAndOversizedRequests(E2ETestCase):
    def test_slow_header_senders_are_disconnected_while_others_are_served(self):
        server = self.start_server()
        clients = []
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection((server.host, server.port), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            clients.append(sock)
        connected = set(clients)
        served_meanwhile = None
        started = time.monotonic()
        try:
            while connected and time.monotonic() - started < SLOW_CLIENT_LIMIT_S:
                for sock in list(connected):
                    readable, _, _ = select.select([sock], [], [], 0)
                    try:
                        if readable:
                            sock.recv(4096)  # an answer (408) or end of stream: cut off either way
                            connected.discard(sock)
                        else:
                            sock.send(b"a")
                    except OSError:
                        connected.discard(sock)
                if served_meanwhile is None and time.monotonic() - started > 2:
                    served_meanwhile = get(server, "/health", timeout=10)
                time.sleep(0.5)
        finally:
            for sock in clients:
                sock.close()
        self.assertEqual(len(connected), 0, f"{len(connected)} clients still sending one header byte every "
                                            f"0.5 s were connected after {SLOW_CLIENT_LIMIT_S}s")
        self.assertIsNotNone(served_meanwhile, "slow clients were cut off within 2 s; /health not probed")
        self.assertEqual(served_meanwhile.status, 200, served_meanwhile.describe())
        self.assertEqual(get(server, "/health").status, 200)

    def test_oversized_header_is_refused(self):
        server = self.start_server()
        resp = h.send_streaming(server, "GET", "/health", {"X-Big": "a" * 70000}, b"")
        self.assertIn(resp.status, (400, 431), resp.describe())
        self.assertCors(resp)
        self.assertRequestId(resp)
        self.assertEqual(get(server, "/health").status, 200)

    def test_chunked_body_is_accepted_and_counted_against_the_limit(self):
        server = self.start_server("--max-file-bytes", "100000")
        form = h.make_team()
        body = form.encode()
        ok = request(server, "POST", h.REGISTRATION_PATH, headers={"Content-Type": form.content_type},
                     body=(body[i:i + 1000] for i in range(0, len(body), 1000)), chunked=True)
        ok.form = form
        self.assertCreated(ok, "ICCT-001")
        big = h.make_team()
        big.set_file("pastor_letter", h.pdf_bytes("big", pad=300000), "big.pdf", "application/pdf")
        refused = h.send_streaming(server, "POST", h.REGISTRATION_PATH, {"Content-Type": big.content_type},
                                   big.encode(), chunked=True, piece=16384)
        self.assertError(refused, 413, "PAYLOAD_TOO_LARGE")
        self.assertEqual(server.backend().team_count(), 1)
        self.assertInvariants(server, [ok])

    def test_declared_body_over_the_limit_is_refused_before_it_is_sent(self):
        server = self.start_server("--max-file-bytes", "100000")
        form = h.make_team()
        resp = h.send_streaming(server, "POST", h.REGISTRATION_PATH, {"Content-Type": form.content_type}, b"",
                                content_length=10 * 1024**3, timeout=30)
        self.assertError(resp, 413, "PAYLOAD_TOO_LARGE")
        self.assertEqual(server.backend().team_count(), 0)


class GracefulShutdown(E2ETestCase):
    def test_request_in_flight_at_sigterm_completes(self):
        server = self.start_server()
        form = h.make_team()
        body = form.encode()
        half = len(body) // 2
        head = (f"POST {h.REGISTRATION_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {h.ORIGIN}\r\n"
                f"Content-Type: {form.content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        with socket.create_connection((server.host, server.port), timeout=30) as sock:
            sock.sendall(head + body[:half])
            time.sleep(0.5)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            sock.sendall(body[half:])
            resp = h.read_response(sock, "POST", h.REGISTRATION_PATH)
        resp.form = form
        self.assertCreated(resp, "ICCT-001")
        self.assertEqual(server.stop(sig=None), 0)
        server.start()
        self.assertInvariants(server, [resp])


class InvalidConfiguration(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="teamreg-e2e-config-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def assertRefused(self, args, keywords, env=None):
        full = ["serve"]
        if "--data-dir" not in args:
            full += ["--data-dir", os.path.join(self.dir, "data")]
        if "--listen" not in args:
            full += ["--listen", "127.0.0.1:0"]
        result = h.run_cli(*(full + list(args)), env=env)
        detail = f"args {args} env {env}: exit {result.returncode}, stdout {result.stdout!r}, stderr {result.stderr!r}"
        self.assertGreater(result.returncode, 0, detail)  # negative: killed by a signal (abort, crash)
        self.assertNotIn("listening on", result.stdout, detail)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        self.assertTrue(lines, detail)
        self.assertLessEqual(len(lines), 4, f"one clear message expected; {detail}")
        for marker in CRASH_MARKERS:
            self.assertNotIn(marker, result.stderr, detail)
        self.assertTrue(any(k in result.stderr.lower() for k in keywords), f"message names none of {keywords}; "
                                                                          f"{detail}")

    def test_invalid_flags_exit_with_one_message(self):
        not_a_dir = os.path.join(self.dir, "plain-file")
        with open(not_a_dir, "w") as f:
            f.write("not a directory\n")
        cases = [
            (["--min-players", "20", "--max-players", "10"], ("players",)),
            (["--listen", "nonsense"], ("listen",)),
            (["--listen", "127.0.0.1:70000"], ("listen", "port")),
            (["--id-width", "0"], ("width",)),
            (["--rate-limit", "-1"], ("rate",)),
            (["--max-players", "many"], ("players",)),
            (["--max-file-bytes", "0"], ("file",)),
            (["--staging-ttl", "soon"], ("ttl", "staging")),
            (["--no-such-flag"], ("no-such-flag",)),
            (["--database", "/dev/null/teamreg.db"], ("database", "/dev/null")),
            (["--data-dir", not_a_dir], ("data", "plain-file")),
        ]
        for args, keywords in cases:
            with self.subTest(args=args):
                self.assertRefused(args, keywords)

    def test_invalid_environment_exits_with_one_message(self):
        self.assertRefused([], ("players",), env={"TEAMREG_MIN_PLAYERS": "20", "TEAMREG_MAX_PLAYERS": "10"})
        self.assertRefused([], ("width",), env={"TEAMREG_ID_WIDTH": "0"})


if __name__ == "__main__":
    unittest.main()
