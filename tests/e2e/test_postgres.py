"""PostgreSQL only (issue 3): several teamreg processes on one database, and a database restart under load.
Run with TEAMREG_TEST_BACKEND=postgres; with any other backend these tests fail rather than skip."""

import collections
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402


class PostgresOnly(E2ETestCase):
    def setUp(self):
        self.assertEqual(h.backend_kind(), "postgres", "this module needs TEAMREG_TEST_BACKEND=postgres")
        self.pg = h.postgres()

    def start_servers(self, count: int, *args: str) -> list[h.Server]:
        """count processes on one database and one data dir, started at the same moment."""
        dsn = self.pg.new_database()
        first = h.Server(*args, database=dsn, start=False)
        servers = [first] + [h.Server(*args, database=dsn, data_dir=first.data_dir, start=False)
                             for _ in range(count - 1)]
        for server in reversed(servers):  # the owner of the data dir is cleaned up last
            self._servers.append(server)
            self.addCleanup(server.cleanup)
        errors = []

        def start(server):
            try:
                server.start()
            except BaseException as e:
                errors.append(e)
        threads = [threading.Thread(target=start, args=(s,)) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(h.START_TIMEOUT_S + 10)
        if errors:
            raise errors[0]
        return servers

    def test_three_processes_300_registrations_at_100_concurrency(self):
        servers = self.start_servers(3)
        load = h.Load(servers, [h.make_team() for _ in range(300)], workers=100).start()
        results = load.join()
        self.assertOutcomes([(r, (201, None, None)) for r in results])
        self.assertEqual(sorted(r.team_id for r in results), h.team_ids(range(1, 301)))
        self.assertInvariants(servers[0], results)

    def test_database_fast_restart_during_load(self):
        server, = self.start_servers(1)
        load = h.Load([server], [h.make_team() for _ in range(300)], workers=100).start()
        self.assertTrue(load.wait_for_acks(80, timeout=300), f"only {len(load.acknowledged)} acknowledged")
        self.pg.restart_fast()
        results = load.join()
        statuses = collections.Counter(h.outcome(r)[:2] for r in results)
        sys.stderr.write(f"\n[pg restart] outcomes {dict(statuses)}\n")
        self.assertLessEqual(set(statuses), {(201, None), (503, "SERVICE_UNAVAILABLE")}, statuses)
        for r in results:
            if r.status == 503:
                self.assertTrue(r.header("Retry-After"), r.describe())
        self.assertInvariants(server, load.acknowledged)
        after = register(server)  # the server recovered by itself
        self.assertCreated(after, h.format_team_id(server.backend().team_count()))
        self.assertInvariants(server, load.acknowledged + [after])

    def test_health_answers_while_a_metrics_scrape_waits_on_a_hung_database(self):
        pg = h.Postgres()  # a cluster of its own: this test freezes it
        self.addCleanup(pg.stop)
        server = self.start_server(database=pg.new_database())
        self.assertCreated(register(server), "ICCT-001")
        frozen = _cluster_pids(pg)
        self.assertGreater(len(frozen), 1)

        def thaw():
            for pid in frozen:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        self.addCleanup(thaw)  # runs before the server and the cluster are stopped
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        scrape: list = []
        scraper = threading.Thread(target=lambda: scrape.append(h.get(server, "/metrics", timeout=120)),
                                   daemon=True)
        scraper.start()
        time.sleep(1.5)  # the scrape now waits on the database for the sequence gauge
        self.assertTrue(scraper.is_alive(), "the scrape was expected to wait on the frozen database")
        for _ in range(8):  # more than the I/O threads: each answered request counts itself in the metrics
            started = time.monotonic()
            health = h.get(server, "/health", timeout=10)
            self.assertEqual(health.status, 200, health.describe())
            self.assertLess(time.monotonic() - started, 1.0)
        thaw()
        scraper.join(timeout=120)
        self.assertEqual([r.status for r in scrape], [200])


def _cluster_pids(pg: h.Postgres) -> list[int]:
    """The postmaster and every process it started."""
    with open(os.path.join(pg.data, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                pids.append(int(entry))
    return pids


if __name__ == "__main__":
    unittest.main()
