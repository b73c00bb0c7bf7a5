"""Backup and restore (issue 14): `teamreg backup` under load, `teamreg restore` into a new data directory,
the real binary started on it; a tampered backup and a non-empty target are refused with nothing written.
SQLite only: with PostgreSQL the database snapshot is pg_dump's (docs/operations.md)."""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402

LOAD = 50


class Backup(E2ETestCase):
    def temp_dir(self) -> str:
        path = tempfile.mkdtemp(prefix="teamreg-e2e-backup-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def backup(self, server: h.Server, to: str):
        return h.run_cli("backup", "--to", to, *h.db_args(server), timeout=120)

    def restore(self, backup_dir: str, data_dir: str):
        return h.run_cli("restore", "--from", backup_dir, "--data-dir", data_dir, timeout=120)

    def assertRestoreRefused(self, result, data_dir: str, *fragments: str) -> None:
        self.assertEqual(result.returncode, 1, f"stdout {result.stdout!r} stderr {result.stderr!r}")
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        self.assertEqual(result.stdout, "")

    def assertNothingWritten(self, data_dir: str) -> None:
        self.assertFalse(os.path.exists(os.path.join(data_dir, "teamreg.db")))
        for sub in ("documents", "staging"):
            path = os.path.join(data_dir, sub)
            self.assertEqual(os.listdir(path) if os.path.isdir(path) else [], [], sub)

    def small_backup(self) -> tuple[h.Server, str, dict]:
        server = self.start_server()
        for expected in ("ICCT-001", "ICCT-002"):
            self.assertCreated(register(server), expected)
        backup_dir = os.path.join(self.temp_dir(), "backup")
        result = self.backup(server, backup_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(backup_dir, "manifest.json")) as f:
            return server, backup_dir, json.load(f)

    def test_backup_under_load_restores_every_team_acknowledged_before_it(self):
        server = self.start_server()
        token = h.create_admin_token(server)
        earlier = [register(server) for _ in range(5)]
        for resp in earlier:
            self.assertCreated(resp)
        load = h.Load([server], [h.make_team() for _ in range(LOAD)], workers=LOAD, timeout=120).start()
        self.assertTrue(load.wait_for_acks(3, timeout=60), "no registration of the load was acknowledged")
        acknowledged = earlier + list(load.acknowledged)  # before the backup starts
        backup_dir = os.path.join(self.temp_dir(), "backup")
        started = time.monotonic()
        result = self.backup(server, backup_dir)
        backup_s = time.monotonic() - started
        acked_during = len(load.acknowledged) - (len(acknowledged) - len(earlier))
        results = load.join(timeout=180)
        self.assertEqual(result.returncode, 0, f"stdout {result.stdout!r} stderr {result.stderr!r}")
        self.assertEqual([r.status if isinstance(r, h.Response) else r.describe() for r in results],
                         [201] * LOAD)
        self.assertLess(len(acknowledged) - len(earlier), LOAD, "the load ended before the backup began")
        print(f"\nbackup took {backup_s:.2f}s; {len(acknowledged)} teams acknowledged before it, "
              f"{acked_during} while it ran", file=sys.stderr)

        # The manifest: every file with its size and an independently computed SHA-256.
        with open(os.path.join(backup_dir, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["format"], 1)
        self.assertEqual(manifest["backend"], "sqlite")
        self.assertEqual(manifest["teamreg_version"], "0.1.0")
        self.assertRegex(manifest["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        self.assertGreater(manifest["schema_version"], 0)
        listed = {f["path"]: f for f in manifest["files"]}
        on_disk = {os.path.relpath(os.path.join(d, n), backup_dir).replace(os.sep, "/")
                   for d, _, names in os.walk(backup_dir) for n in names} - {"manifest.json"}
        self.assertEqual(set(listed), on_disk)
        for path, entry in listed.items():
            with open(os.path.join(backup_dir, path), "rb") as f:
                data = f.read()
            self.assertEqual((len(data), hashlib.sha256(data).hexdigest()), (entry["size_bytes"], entry["sha256"]),
                             path)
        [sequence] = manifest["sequences"]
        self.assertEqual(sequence["name"], "team")
        self.assertEqual(sequence["last_number"], manifest["teams"])
        self.assertGreaterEqual(manifest["teams"], len(acknowledged))

        # Restore into a new data directory, check it, serve it.
        data_dir = os.path.join(self.temp_dir(), "data")
        restored = self.restore(backup_dir, data_dir)
        self.assertEqual(restored.returncode, 0, f"stdout {restored.stdout!r} stderr {restored.stderr!r}")
        check = h.run_cli("check", "--data-dir", data_dir)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("check passed", check.stdout)
        copy = self.start_server(data_dir=data_dir)
        backend = copy.backend()
        self.assertEqual(backend.team_count(), manifest["teams"])
        # Gapless 1..N, sequence = N, every document on disk, every acknowledged team whole.
        self.assertInvariants(copy, acknowledged)
        highest = max(int(r.team_id.split("-")[1]) for r in acknowledged)
        self.assertGreaterEqual(backend.sequence()["last_number"], highest)
        for resp in acknowledged:
            team_id = resp.team_id
            for part in (p for p in resp.form.parts if p.is_file):
                got = h.admin_request(copy, "GET", f"/admin/teams/{team_id}/files/{part.name}", token)
                self.assertEqual(got.status, 200, f"{team_id} {part.name}: {got.describe()}")
                self.assertEqual(got.body, part.data, f"{team_id} {part.name} differs")
        # The restored sequence goes on from where the snapshot was.
        self.assertCreated(register(copy), h.format_team_id(manifest["teams"] + 1))

    def test_a_tampered_file_is_named_and_nothing_is_restored(self):
        _, backup_dir, manifest = self.small_backup()
        document = next(f["path"] for f in manifest["files"] if f["path"].startswith("documents/"))
        path = os.path.join(backup_dir, document)
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) - 1)
            last = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([last[0] ^ 0x01]))
        data_dir = os.path.join(self.temp_dir(), "data")
        result = self.restore(backup_dir, data_dir)
        self.assertRestoreRefused(result, data_dir, "nothing was written", f"{document}: SHA-256")
        self.assertEqual(result.stderr.count("SHA-256"), 1, result.stderr)
        self.assertNothingWritten(data_dir)

        os.remove(os.path.join(backup_dir, "teamreg.db"))
        result = self.restore(backup_dir, data_dir)
        self.assertRestoreRefused(result, data_dir, "teamreg.db: missing", f"{document}: SHA-256")
        self.assertNothingWritten(data_dir)

    def test_a_non_empty_target_is_refused(self):
        server, backup_dir, _ = self.small_backup()
        # The live server's own data directory: it has a database.
        result = self.restore(backup_dir, server.data_dir)
        self.assertRestoreRefused(result, server.data_dir, "teamreg.db already exists")
        self.assertEqual(server.backend().team_count(), 2)
        self.assertCreated(register(server), "ICCT-003")
        # Documents but no database.
        data_dir = os.path.join(self.temp_dir(), "data")
        os.makedirs(os.path.join(data_dir, "documents"))
        with open(os.path.join(data_dir, "documents", "left-over"), "wb") as f:
            f.write(b"x")
        result = self.restore(backup_dir, data_dir)
        self.assertRestoreRefused(result, data_dir, "already holds documents")
        self.assertFalse(os.path.exists(os.path.join(data_dir, "teamreg.db")))
        self.assertEqual(os.listdir(os.path.join(data_dir, "documents")), ["left-over"])

    def test_a_non_empty_backup_directory_is_refused(self):
        server, backup_dir, _ = self.small_backup()
        result = self.backup(server, backup_dir)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("is not empty", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(backup_dir, "manifest.json.tmp")))


if __name__ == "__main__":
    unittest.main()
