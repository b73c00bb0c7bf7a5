"""GET /metrics: Prometheus text that counts what the server actually did."""

import os
import re
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse(text: str) -> dict:
    """{(name, labels): value}; fails on any line that is not a comment or a valid sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        key = (m.group(1), m.group(2) or "")
        if key in samples:
            raise AssertionError(f"sample repeated: {line!r}")
        samples[key] = float(m.group(3))
    return samples


class Metrics(E2ETestCase):
    def scrape(self, server) -> dict:
        resp = h.get(server, "/metrics")
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertTrue((resp.header("Content-Type") or "").startswith("text/plain"), resp.describe())
        return parse(resp.body.decode())

    def test_counts_registrations_refusals_replays_batches_and_sequence(self):
        server = self.start_server()
        email = f"metrics-{uuid.uuid4().hex[:12]}@example.org"
        created = [register(server, captain_email=email)] + [register(server) for _ in range(2)]
        for r in created:
            self.assertCreated(r)
        duplicate = register(server, captain_email=email)
        self.assertError(duplicate, 409, "DUPLICATE_CAPTAIN_EMAIL")
        key = f"e2e-{uuid.uuid4()}"
        keyed = register(server, idempotency_key=key)
        self.assertCreated(keyed, "ICCT-004")
        replay = register(server, keyed.form, idempotency_key=key)
        self.assertCreated(replay, "ICCT-004")
        invalid = register(server, players=3)
        self.assertError(invalid, 400)

        m = self.scrape(server)
        route = '/api/register/team'
        self.assertEqual(m[("teamreg_http_requests_total", f'{{route="{route}",status="201"}}')], 5)
        self.assertEqual(m[("teamreg_http_requests_total", f'{{route="{route}",status="409"}}')], 1)
        self.assertEqual(m[("teamreg_http_requests_total", f'{{route="{route}",status="400"}}')], 1)
        # Four teams were created; the replay is counted as a replay, not a registration.
        self.assertEqual(m[("teamreg_registration_duration_seconds_count", "")], 4)
        self.assertEqual(m[("teamreg_registration_duration_seconds_bucket", '{le="+Inf"}')], 4)
        self.assertGreater(m[("teamreg_registration_duration_seconds_sum", "")], 0)
        self.assertEqual(m[("teamreg_idempotent_replays_total", "")], 1)
        # Every registration that reached the committer (4 created + 1 refused) is in some batch;
        # the replay was answered before the committer.
        self.assertEqual(m[("teamreg_commit_batch_size_sum", "")], 5)
        batches = m[("teamreg_commit_batch_size_count", "")]
        self.assertGreaterEqual(batches, 1)
        self.assertLessEqual(batches, 5)
        self.assertEqual(m[("teamreg_commit_duration_seconds_count", "")], batches)
        self.assertGreater(m[("teamreg_commit_duration_seconds_sum", "")], 0)
        self.assertEqual(m[("teamreg_commit_queue_depth", "")], 0)
        self.assertEqual(m[("teamreg_sequence_last_number", '{sequence="team"}')], 4)
        self.assertEqual(m[("teamreg_sweeper_deleted_total", "")], 0)
        # Histogram buckets are cumulative.
        buckets = sorted(((float(labels[5:-2]) if "+Inf" not in labels else float("inf")), v)
                         for (name, labels), v in m.items()
                         if name == "teamreg_registration_duration_seconds_bucket")
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), buckets)

    def test_sweeper_deletions_are_counted(self):
        server = self.start_server("--staging-ttl", "0")
        os.makedirs(server.staging_dir, exist_ok=True)
        for i in range(2):
            with open(os.path.join(server.staging_dir, str(uuid.uuid4())), "wb") as f:
                f.write(b"orphan %d" % i)
        server.restart()  # the sweep at start deletes unreferenced staged files older than the TTL
        m = self.scrape(server)
        self.assertEqual(m[("teamreg_sweeper_deleted_total", "")], 2)

    def test_sweeper_passes_heap_in_use_and_sqlite_memory_are_reported(self):
        server = self.start_server()
        m = self.scrape(server)
        # Exactly the pass at start: the periodic one comes after --sweep-interval (60 s).
        self.assertEqual(m[("teamreg_sweeps_total", "")], 1)
        # Under ASan the C allocator is replaced, so glibc may report 0; never negative or fractional.
        heap = m[("teamreg_heap_in_use_bytes", "")]
        self.assertGreaterEqual(heap, 0)
        self.assertEqual(heap, int(heap))

        # SQLite's own memory (its page caches, schemas and statements) is reported beside it: the
        # share of the heap that the database connections hold. Not a SQLite gauge on PostgreSQL.
        if h.backend_kind() == "sqlite":
            resp = register(server)
            self.assertEqual(resp.status, 201, resp.describe())
            lite = self.scrape(server)[("teamreg_sqlite_memory_bytes", "")]
            self.assertGreater(lite, 0)
            self.assertEqual(lite, int(lite))
        else:
            self.assertNotIn(("teamreg_sqlite_memory_bytes", ""), m)

        server.restart("--sweep-interval", "1")
        deadline = time.monotonic() + 20
        passes = self.scrape(server)[("teamreg_sweeps_total", "")]
        while passes < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
            passes = self.scrape(server)[("teamreg_sweeps_total", "")]
        self.assertGreaterEqual(passes, 3, "the periodic sweeper did not run every second")
        self.assertEqual(self.scrape(server)[("teamreg_sweeper_deleted_total", "")], 0)


if __name__ == "__main__":
    unittest.main()
