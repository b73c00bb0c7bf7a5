"""Faults between teamreg and PostgreSQL (issue 13): a TCP proxy the test controls (tests/e2e/fault_proxy.py)
stalls, drops and slows the connections under 50 concurrent registrations, and the whole cluster is killed
with SIGKILL and restarted. Every answer is 201 or 503, none hangs past the documented bound, every 201 is
stored with its documents, numbers stay exactly 1..N, and each 503 is honest: "nothing was stored" means
nothing was, and "outcome unknown" is settled by retrying with the same Idempotency-Key.
PostgreSQL only: with any other backend these tests fail rather than skip."""

import collections
import os
import signal
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402

DB_TIMEOUT_S = 2  # --database-timeout for these tests; the commit deadline is twice this
# The longest a registration may wait for its answer while the database stalls: its commit deadline, the
# attempt under way (one statement timeout), a connection attempt and the look-up of an ambiguous commit,
# and a little for the machine (ASan build, two cores).
ANSWER_BOUND_S = 2 * DB_TIMEOUT_S + 3 * DB_TIMEOUT_S + 3
NOTHING_STORED = "nothing was stored"
OUTCOME_UNKNOWN = "outcome of this registration is unknown"


class Attempt:
    """One registration with its own Idempotency-Key, timed."""

    def __init__(self, form: h.Form) -> None:
        self.form = form
        self.key = str(uuid.uuid4())
        self.response = None
        self.seconds = 0.0

    def send(self, server: h.Server) -> "Attempt":
        started = time.monotonic()
        try:
            self.response = register(server, self.form, idempotency_key=self.key, timeout=120)
        except Exception as e:  # no answer at all: a defect these tests look for
            self.response = h.Failed(e, self.form)
        self.seconds = time.monotonic() - started
        return self


class DatabaseFaults(E2ETestCase):
    def setUp(self):
        self.assertEqual(h.backend_kind(), "postgres", "this module needs TEAMREG_TEST_BACKEND=postgres")

    def proxied_server(self, pg: h.Postgres, *args: str) -> tuple[h.Server, FaultProxy, str]:
        """A server whose database connections all go through a fault proxy; returns it, the proxy and the
        direct DSN (for checking what is stored without the proxy in the way)."""
        direct = pg.new_database()
        proxy = FaultProxy(pg.port)
        self.addCleanup(proxy.stop)  # runs after the server is stopped (cleanups run last-in first-out)
        database = direct.rsplit("/", 1)[1]
        server = self.start_server("--database-timeout", str(DB_TIMEOUT_S), *args, database=proxy.dsn(database))
        return server, proxy, direct

    def run_load(self, server: h.Server, count: int, workers: int = 50) -> tuple[list[Attempt], threading.Thread]:
        attempts = [Attempt(h.make_team()) for _ in range(count)]
        thread = threading.Thread(
            target=lambda: h.run_concurrently(lambda a: a.send(server), attempts, workers, timeout=600), daemon=True)
        thread.start()
        return attempts, thread

    def acknowledged(self, attempts: list[Attempt]) -> list:
        return [a.response for a in attempts if a.response is not None and a.response.status == 201]

    def wait_for_acks(self, attempts: list[Attempt], count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged(attempts)) < count:
            self.assertLess(time.monotonic(), deadline, f"fewer than {count} registrations acknowledged")
            time.sleep(0.05)

    def assertHonestOutcomes(self, server: h.Server, direct: str, attempts: list[Attempt]) -> None:
        """Every answer 201 or 503 + Retry-After; every 201 stored; "nothing stored" not stored; then each 503
        retried with its key settles to 201 exactly once, and the stored state is whole and gapless."""
        backend = h.PostgresBackend(direct)
        outcomes = collections.Counter(h.outcome(a.response)[:2] for a in attempts)
        sys.stderr.write(f"\n[{self.id().rsplit('.', 1)[1]}] outcomes {dict(outcomes)}\n")
        self.assertLessEqual(set(outcomes), {(201, None), (503, "SERVICE_UNAVAILABLE")}, outcomes)
        by_name = {t["team_name"]: t for t in backend.teams()}
        for a in attempts:
            name = a.form.value("team_name")
            if a.response.status == 201:
                self.assertIn(name, by_name, f"acknowledged but not stored: {a.response.describe()}")
                self.assertEqual(by_name[name]["team_id"], a.response.team_id)
            else:
                self.assertTrue(a.response.header("Retry-After"), a.response.describe())
                message = a.response.json["message"]
                self.assertTrue(NOTHING_STORED in message or OUTCOME_UNKNOWN in message, message)
                if NOTHING_STORED in message:
                    self.assertNotIn(name, by_name, f"said nothing was stored, but it was: {a.response.describe()}")
        # Retrying each 503 with its own key: the ones stored get their 201 back, the others are stored now.
        for a in attempts:
            if a.response.status != 201:
                was_stored = a.form.value("team_name") in by_name
                retry = register(server, a.form, idempotency_key=a.key, timeout=120)
                self.assertEqual(retry.status, 201, retry.describe())
                if was_stored:
                    self.assertEqual(retry.team_id, by_name[a.form.value("team_name")]["team_id"])
                a.response = retry
        acknowledged = self.acknowledged(attempts)
        self.assertEqual(len(acknowledged), len(attempts))
        self.assertEqual(sorted(r.team_id for r in acknowledged), h.team_ids(range(1, len(attempts) + 1)))
        problems = h.check_invariants(backend, server.data_dir, acknowledged)
        self.assertEqual(problems, [], "\n".join(problems[:40]))

    def test_a_stall_longer_than_the_deadline_answers_503_in_bounded_time_and_hangs_nothing(self):
        server, proxy, direct = self.proxied_server(h.postgres())
        attempts, load = self.run_load(server, 150)
        self.wait_for_acks(attempts, 20)
        proxy.stall()
        stalled_at = time.monotonic()
        # During the stall, new registrations too are answered within the bound.
        during = [Attempt(h.make_team()) for _ in range(10)]
        h.run_concurrently(lambda a: a.send(server), during, 10, timeout=120)
        # Long enough that a request waiting on the stalled socket would blow the bound.
        time.sleep(max(0.0, stalled_at + ANSWER_BOUND_S + 8 - time.monotonic()))
        health = h.get(server, "/health", timeout=5)
        self.assertEqual(health.status, 200)
        proxy.resume()
        load.join(300)
        self.assertFalse(load.is_alive())
        attempts += during
        slow = [f"{a.seconds:.1f}s {h.outcome(a.response)}" for a in attempts if a.seconds > ANSWER_BOUND_S]
        self.maxDiff = None
        self.assertEqual(slow, [], f"answers slower than {ANSWER_BOUND_S}s")
        self.assertEqual([h.outcome(a.response) for a in during if a.response.status != 503], [],
                         "registrations sent during the stall must get 503")
        recovered = Attempt(h.make_team()).send(server)  # the pool recovered by itself
        self.assertCreated(recovered.response)
        attempts.append(recovered)
        self.assertHonestOutcomes(server, direct, attempts)

    def test_every_connection_dropped_mid_commit_again_and_again(self):
        server, proxy, direct = self.proxied_server(h.postgres())
        attempts, load = self.run_load(server, 200)
        self.wait_for_acks(attempts, 10)
        dropped = 0
        while load.is_alive():
            dropped += proxy.drop_all()
            time.sleep(0.05)
        sys.stderr.write(f"\n[drop] connections dropped {dropped}\n")
        self.assertGreater(dropped, 5)
        self.assertHonestOutcomes(server, direct, attempts)

    def test_latency_on_every_packet_slows_registrations_but_fails_none(self):
        server, proxy, direct = self.proxied_server(h.postgres())
        proxy.delay(0.02)
        attempts, load = self.run_load(server, 100)
        load.join(300)
        self.assertEqual([h.outcome(a.response) for a in attempts if a.response.status != 201], [])
        self.assertHonestOutcomes(server, direct, attempts)

    def test_postgres_killed_with_sigkill_and_restarted_under_load(self):
        pg = h.Postgres()  # a cluster of its own: this test kills it (fsync is on, PostgreSQL's default)
        self.addCleanup(pg.stop)
        self.assertEqual(pg.psql("SHOW fsync").strip(), "on")
        direct = pg.new_database()
        server = self.start_server("--database-timeout", str(DB_TIMEOUT_S), database=direct)
        attempts, load = self.run_load(server, 200)
        self.wait_for_acks(attempts, 30)
        for pid in _cluster_pids(pg):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(1.0)
        # Left behind by the killed postmaster (a zombie PID in them could look alive to the new one).
        for stale in (os.path.join(pg.data, "postmaster.pid"),
                      os.path.join(pg.sockets, f".s.PGSQL.{pg.port}.lock")):
            try:
                os.remove(stale)
            except FileNotFoundError:
                pass
        pg._start()  # crash recovery replays the WAL: every committed transaction is back
        load.join(300)
        self.assertFalse(load.is_alive())
        self.assertHonestOutcomes(server, direct, attempts)


def _cluster_pids(pg: h.Postgres) -> list[int]:
    """The postmaster and every process it started."""
    with open(os.path.join(pg.data, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    children.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return [postmaster] + children


if __name__ == "__main__":
    unittest.main()
