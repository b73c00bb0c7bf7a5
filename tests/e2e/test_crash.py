"""kill -9 of the server during concurrent load: acknowledged means durable, no gaps, no orphaned files."""

import collections
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402

ATTEMPTS = 300
WORKERS = 100
KILL_AFTER_ACKS = 100


class KillDuringLoad(E2ETestCase):
    def test_kill9_during_load_loses_nothing_acknowledged(self):
        server = self.start_server()
        load = h.Load([server], [h.make_team() for _ in range(ATTEMPTS)], WORKERS).start()
        reached = load.wait_for_acks(KILL_AFTER_ACKS, timeout=300)
        server.kill9()
        load.stop_sending.set()
        results = load.join()
        self.assertTrue(reached, f"only {len(load.acknowledged)} registrations acknowledged before the kill")
        self.assertEqual(server.sanitizer_report(), "")
        answered = collections.Counter(r.status for r in results if not isinstance(r, h.Failed))
        # Before the kill every request was valid: the only acceptable answers are 201 and 503 (overload).
        self.assertLessEqual(set(answered), {201, 503}, [r.describe() for r in results
                                                          if not isinstance(r, h.Failed) and r.status != 201][:5])
        acknowledged = list(load.acknowledged)

        time.sleep(2)  # staged files of the killed requests are now older than the TTL below
        server.restart("--staging-ttl", "1", "--sweep-interval", "1")
        backend = server.backend()
        left = h.wait_for_clean_staging(backend, server.data_dir, timeout=10)
        self.assertEqual(left, [], "staged files of uncommitted registrations survived the sweep")
        self.assertInvariants(server, acknowledged, staging_clean=True)
        committed = backend.team_count()
        self.assertGreaterEqual(committed, len(acknowledged))
        sys.stderr.write(f"\n[crash] {len(acknowledged)} acknowledged, {committed} committed, "
                         f"{sum(isinstance(r, h.Failed) for r in results)} without answer\n")

        after = register(server)
        self.assertCreated(after, h.format_team_id(committed + 1))
        self.assertInvariants(server, acknowledged + [after])


if __name__ == "__main__":
    unittest.main()
