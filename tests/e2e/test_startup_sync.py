"""Startup sync (both databases): a sequence behind the stored teams is raised, one ahead is never lowered,
and either way the start-up log says so."""

import os
import subprocess  # noqa: F401 (type name in annotations)
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402


def clone_team(backend: h.Backend, source_id: str, number: int) -> str:
    """Insert by hand a copy of a stored team under another number (the server must be stopped)."""
    team_id = h.format_team_id(number)
    columns = backend.columns("teams")
    overrides = {"team_id": f"'{team_id}'", "number": str(number), "request_uuid": f"'{uuid.uuid4()}'",
                 "captain_email": f"'by.hand.{number}.{uuid.uuid4().hex[:8]}@example.com'",
                 "captain_phone": f"'{h.phone(h.unique_number(), '6')}'"}
    values = ", ".join(overrides.get(c, c) for c in columns)
    backend.execute(f"INSERT INTO teams ({', '.join(columns)}) SELECT {values} FROM teams "
                    f"WHERE team_id = '{source_id}'")
    return team_id


class StartupSync(E2ETestCase):
    def assertStartupLog(self, server: h.Server, event: str, current: int, next_id: str) -> None:
        """One line of the latest start, e.g. `sequence synchronized name=team current=5 next=ICCT-006`."""
        self.assertRegex(server.stderr_text(), rf"sequence {event} name=team\b.*\bcurrent={current}\b.*"
                                               rf"\bnext={next_id}\b")

    def test_plain_restart_logs_in_sync(self):
        server = self.start_server()
        self.assertStartupLog(server, "in sync", 0, "ICCT-001")
        for expected in ("ICCT-001", "ICCT-002"):
            self.assertCreated(register(server), expected)
        server.restart()
        self.assertStartupLog(server, "in sync", 2, "ICCT-003")
        self.assertCreated(register(server), "ICCT-003")

    def test_sequence_behind_a_stored_team_is_raised(self):
        server = self.start_server()
        for expected in ("ICCT-001", "ICCT-002"):
            self.assertCreated(register(server), expected)
        server.stop()
        backend = server.backend()
        clone_team(backend, "ICCT-002", 7)
        server.start()
        self.assertStartupLog(server, "synchronized", 7, "ICCT-008")
        self.assertCreated(register(server), "ICCT-008")
        self.assertEqual(backend.sequence()["last_number"], 8)

    def test_sequence_ahead_of_the_teams_is_never_lowered(self):
        server = self.start_server()
        self.assertCreated(register(server), "ICCT-001")
        server.stop()
        backend = server.backend()
        backend.execute("UPDATE id_sequences SET last_number = 10 WHERE name = 'team'")
        server.start()
        self.assertStartupLog(server, "in sync", 10, "ICCT-011")
        self.assertCreated(register(server), "ICCT-011")
        server.restart()
        self.assertCreated(register(server), "ICCT-012")
        self.assertEqual(backend.sequence()["last_number"], 12)


class Check(E2ETestCase):
    """`teamreg check` validates what `serve` relies on; `serve` refuses to start on a problem."""

    def check(self, server: h.Server) -> "subprocess.CompletedProcess":
        args = ["check", "--data-dir", server.data_dir]
        if server.database:
            args += ["--database", server.database]
        return h.run_cli(*args)

    def test_healthy_database_passes(self):
        server = self.start_server()
        self.assertCreated(register(server), "ICCT-001")
        server.stop()
        result = self.check(server)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("check passed", result.stdout)

    def test_missing_unique_constraint_fails_check_and_serve(self):
        server = self.start_server()
        self.assertCreated(register(server), "ICCT-001")
        server.stop()
        server.backend().execute("DROP INDEX teams_active_captain_email")
        result = self.check(server)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("unique constraint teams(captain_email) is missing", result.stderr)
        self.assertNotIn("check passed", result.stdout)
        with self.assertRaises(h.ServerStartError):
            server.start()
        self.assertIn("startup check failed: unique constraint teams(captain_email) is missing",
                      server.stderr_text())

    def test_schema_newer_than_the_binary_fails(self):
        server = self.start_server()
        server.stop()
        server.backend().execute("INSERT INTO schema_migrations (version, name, applied_at) "
                                 "VALUES (999, 'from_the_future', '2030-01-01T00:00:00.000Z')")
        result = self.check(server)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr, r"schema version 999 is newer than this binary's \d+")


if __name__ == "__main__":
    unittest.main()
