"""Backup and restore on PostgreSQL (issue 14), the procedure docs/operations.md gives, end to end while the
server runs: pg_dump first, then `teamreg backup` for the documents; pg_restore into a new database, `teamreg
restore` into a new data directory, `teamreg check`, and a server on the copy that has every team acknowledged
before the dump with every document, and goes on numbering from there."""

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402

_restored = itertools.count(1)


class PostgresBackup(E2ETestCase):
    def test_pg_dump_then_backup_restores_every_team_with_its_documents(self):
        server = self.start_server()
        self.assertTrue(server.database.startswith("postgresql://"), server.database)
        token = h.create_admin_token(server)
        acknowledged = [register(server) for _ in range(4)]
        for number, resp in enumerate(acknowledged, start=1):
            self.assertCreated(resp, h.format_team_id(number))
        work = tempfile.mkdtemp(prefix="teamreg-e2e-pgbackup-")
        self.addCleanup(shutil.rmtree, work, True)
        backup_dir = os.path.join(work, "backup")
        dump = backup_dir + ".pgdump"

        # 1. pg_dump, as `teamreg backup` tells the operator to, then the documents.
        subprocess.run([f"{h.PG_BIN}/pg_dump", "--format=custom", f"--file={dump}", server.database],
                       check=True, capture_output=True, timeout=120)
        result = h.run_cli("backup", "--to", backup_dir, *h.db_args(server), timeout=120)
        self.assertEqual(result.returncode, 0, f"stdout {result.stdout!r} stderr {result.stderr!r}")
        self.assertIn("4 teams", result.stdout)
        self.assertIn(f"pg_dump --format=custom --file={dump}", result.stdout)
        self.assertNotIn(server.database, result.stdout + result.stderr, "the database URL is never printed")
        after_dump = register(server)  # in neither the dump nor the backup: the copy reuses its number
        self.assertCreated(after_dump, "ICCT-005")

        with open(os.path.join(backup_dir, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual((manifest["backend"], manifest["teams"]), ("postgresql", 4))
        listed = {f["path"]: f for f in manifest["files"]}
        on_disk = {os.path.relpath(os.path.join(d, n), backup_dir).replace(os.sep, "/")
                   for d, _, names in os.walk(backup_dir) for n in names} - {"manifest.json"}
        self.assertEqual(set(listed), on_disk)
        documents = [p for resp in acknowledged for p in resp.form.parts if p.is_file]
        self.assertEqual(len(listed), len(documents), "the backup holds the documents and nothing else")
        for path, entry in listed.items():
            with open(os.path.join(backup_dir, path), "rb") as f:
                data = f.read()
            self.assertEqual((len(data), hashlib.sha256(data).hexdigest()), (entry["size_bytes"], entry["sha256"]),
                             path)

        # 2. pg_restore into a new database, the documents into a new data directory, check, serve.
        copy_dsn = h.postgres().create_database(f"teamreg_restored_{next(_restored)}")
        subprocess.run([f"{h.PG_BIN}/pg_restore", "--no-owner", f"--dbname={copy_dsn}", dump],
                       check=True, capture_output=True, timeout=120)
        data_dir = os.path.join(work, "data")
        restored = h.run_cli("restore", "--from", backup_dir, "--data-dir", data_dir, "--database", copy_dsn,
                             timeout=120)
        self.assertEqual(restored.returncode, 0, f"stdout {restored.stdout!r} stderr {restored.stderr!r}")
        self.assertIn("restored 4 teams", restored.stdout)
        self.assertIn("pg_restore", restored.stdout)
        check = h.run_cli("check", "--data-dir", data_dir, "--database", copy_dsn)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("check passed", check.stdout)

        copy = self.start_server(data_dir=data_dir, database=copy_dsn)
        self.assertEqual(copy.backend().team_count(), 4)
        self.assertInvariants(copy, acknowledged)
        for resp in acknowledged:
            for part in (p for p in resp.form.parts if p.is_file):
                got = h.admin_request(copy, "GET", f"/admin/teams/{resp.team_id}/files/{part.name}", token)
                self.assertEqual(got.status, 200, f"{resp.team_id} {part.name}: {got.describe()}")
                self.assertEqual(got.body, part.data, f"{resp.team_id} {part.name} differs")
        self.assertCreated(register(copy), "ICCT-005")


if __name__ == "__main__":
    unittest.main()
