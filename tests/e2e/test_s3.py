"""Documents in an S3-compatible object store (issue 12), against a real s3rver (tests/s3) and read back with
boto3. PostgreSQL only, like every deployment with a bucket: run with TEAMREG_TEST_BACKEND=postgres; with any
other backend, or without s3rver or boto3, these tests fail rather than skip."""

import os
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402
from s3server import CREDENTIALS, S3rver  # noqa: E402

EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
TOKEN = "s3-e2e-admin-token-" + "x" * 24


class S3Case(E2ETestCase):
    def setUp(self):
        self.assertEqual(h.backend_kind(), "postgres", "this module needs TEAMREG_TEST_BACKEND=postgres")
        self.s3 = S3rver()
        self.addCleanup(self.s3.cleanup)  # after the servers (cleanups run last-in, first-out)
        self.prefix = "icct/" + uuid.uuid4().hex[:8]

    def s3_server(self, *args: str, env: dict | None = None, **kw) -> h.Server:
        environment = dict(CREDENTIALS, TEAMREG_ADMIN_TOKEN=TOKEN)
        environment.update(env or {})
        return self.start_server(*self.s3.server_args(self.prefix), "--admin-failure-limit", "0", *args,
                                 env=environment, **kw)

    def object_name(self, key: str) -> str:
        return f"{self.prefix}/documents/{key}"

    def stat_in_bucket(self, key: str):
        data = self.s3.get(self.object_name(key))
        return None if data is None else (len(data), data[:8])

    def referenced_keys(self, server: h.Server) -> set[str]:
        return {d["storage_key"] for docs in server.backend().documents().values() for d in docs.values()}

    def stored_keys(self) -> set[str]:
        start = f"{self.prefix}/documents/"
        return {name[len(start):] for name in self.s3.objects(start)}

    def wait_for_bucket(self, server: h.Server, timeout: float = 20) -> set[str]:
        """Polls until the bucket holds exactly the documents committed teams reference; returns the extras."""
        deadline = time.monotonic() + timeout
        while True:
            extra = self.stored_keys() - self.referenced_keys(server)
            if not extra or time.monotonic() > deadline:
                return extra
            time.sleep(0.25)

    def assertS3Invariants(self, server: h.Server, acknowledged=()):
        self.assertInvariants(server, acknowledged, stat_document=self.stat_in_bucket)
        missing = self.referenced_keys(server) - self.stored_keys()
        self.assertEqual(missing, set(), "documents of committed teams missing from the bucket")

    def download(self, server: h.Server, team_id: str, name: str, query: str = "") -> h.Response:
        return h.admin_request(server, "GET", f"/admin/teams/{team_id}/files/{name}{query}", TOKEN)


class Documents(S3Case):
    def test_documents_are_in_the_bucket_byte_identical_and_download_from_it(self):
        server = self.s3_server()
        form = h.make_team()
        # Over two of the store's 1 MiB read ranges, so a download takes several pieces.
        form.set_file("pastor_letter", h.pdf_bytes("big", pad=(2 << 20) + 12345), "letter.pdf",
                      "application/pdf")
        resp = register(server, form)
        team_id = self.assertCreated(resp, "ICCT-001")
        sent = {p.name: p for p in resp.form.parts if p.is_file}
        self.assertEqual(len(sent), 5)
        stored = server.backend().documents()[team_id]
        for name, part in sent.items():
            with self.subTest(field=name):
                key = stored[name]["storage_key"]
                self.assertEqual(self.s3.get(self.object_name(key)), part.data, "bucket copy differs")
                got = self.download(server, team_id, name)
                self.assertEqual(got.status, 200, got.describe())
                self.assertEqual(got.body, part.data)
                content_type = stored[name]["content_type"]
                self.assertEqual(got.header("Content-Type"), content_type)
                self.assertEqual(got.header("Content-Length"), str(len(part.data)))
                self.assertEqual(got.header("Content-Disposition"),
                                 f'attachment; filename="{team_id}_{name}.{EXTENSIONS[content_type]}"')
                self.assertEqual(got.header("X-Content-Type-Options"), "nosniff")
                shown = self.download(server, team_id, name, "?inline=1")
                self.assertEqual(shown.status, 200, shown.describe())
                self.assertEqual(shown.body, part.data)
                self.assertTrue(shown.header("Content-Disposition").startswith("inline; "))
        # Nothing host-local: no documents directory, and staging is empty once the 201 is out.
        self.assertFalse(os.listdir(server.documents_dir) if os.path.isdir(server.documents_dir) else [])
        self.assertEqual(h.wait_for_clean_staging(server.backend(), server.data_dir), [])
        self.assertEqual(h.staged_files(server.data_dir), [])
        self.assertS3Invariants(server, [resp])
        ready = h.get(server, "/ready")
        self.assertEqual(ready.status, 200, ready.describe())
        missing = self.download(server, team_id, "no_such_field")
        self.assertEqual(missing.status, 404, missing.describe())

    def test_refused_registrations_leave_nothing_referenced_and_orphans_are_swept(self):
        server = self.s3_server("--staging-ttl", "1", "--sweep-interval", "1")
        first = h.make_team()
        self.assertCreated(register(server, first), "ICCT-001")
        invalid = h.make_team()
        invalid.set("captain_email", "not-an-email")
        self.assertEqual(register(server, invalid).status, 400)
        duplicate = h.make_team()
        duplicate.set("captain_email", first.value("captain_email"))  # refused by the commit, after upload
        refused = register(server, duplicate)
        self.assertEqual(refused.status, 409, refused.describe())
        # What a crashed request of some process left behind.
        orphan = str(uuid.uuid4())
        self.s3.put(self.object_name(orphan), h.pdf_bytes("orphan"))
        self.assertEqual(self.wait_for_bucket(server), set(), "unreferenced objects not swept")
        self.assertEqual(len(self.referenced_keys(server)), 5)
        self.assertS3Invariants(server, [])
        self.assertIn("blob store swept", server.stderr_text())


class Faults(S3Case):
    def test_kill9_under_load_keeps_every_acknowledged_document_and_sweeps_the_rest(self):
        server = self.s3_server()
        load = h.Load([server], [h.make_team() for _ in range(80)], workers=24).start()
        self.assertTrue(load.wait_for_acks(15, timeout=120), f"only {len(load.acknowledged)} acknowledged")
        server.kill9()
        load.join()
        acknowledged = list(load.acknowledged)
        self.assertGreaterEqual(len(acknowledged), 15)
        server.restart(*server.args, "--staging-ttl", "1", "--sweep-interval", "1")
        self.assertEqual(self.wait_for_bucket(server), set(), "orphans left in the bucket")
        self.assertEqual(h.wait_for_clean_staging(server.backend(), server.data_dir), [])
        self.assertS3Invariants(server, acknowledged)
        self.assertCreated(register(server), h.format_team_id(server.backend().team_count()))

    def test_bucket_down_answers_503_and_uses_no_number_then_recovers(self):
        server = self.s3_server("--staging-ttl", "1", "--sweep-interval", "1")
        self.assertCreated(register(server), "ICCT-001")
        self.s3.stop()
        results = h.run_concurrently(lambda _: register(server), range(4), workers=4)
        for resp in results:
            self.assertEqual(resp.status, 503, resp.describe())
            self.assertEqual(resp.error_code, "SERVICE_UNAVAILABLE", resp.describe())
            self.assertIsNotNone(resp.header("Retry-After"), resp.describe())
        self.assertEqual(h.get(server, "/ready").status, 503)
        self.assertEqual(server.backend().team_count(), 1)
        self.assertEqual(server.backend().sequence()["last_number"], 1)
        self.s3.start()
        self.assertCreated(register(server), "ICCT-002")  # gapless: the refused ones used no number
        self.assertEqual(self.wait_for_bucket(server), set())
        self.assertS3Invariants(server, [])

    def test_wrong_credentials_fail_check_and_stop_serve(self):
        dsn = h.postgres().new_database()
        data_dir = os.path.join(self._tmp(), "data")
        wrong = {"AWS_ACCESS_KEY_ID": "NOT-A-KEY", "AWS_SECRET_ACCESS_KEY": "super-secret-value-123"}
        h.run_cli("migrate", "--database", dsn, "--data-dir", data_dir)
        result = h.run_cli("check", "--database", dsn, "--data-dir", data_dir, *self.s3.server_args(self.prefix),
                           env=wrong)
        self.assertNotEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("InvalidAccessKeyId", result.stderr)
        self.assertIn("AWS_ACCESS_KEY_ID", result.stderr)
        self.assertNotIn("super-secret-value-123", result.stdout + result.stderr)
        good = h.run_cli("check", "--database", dsn, "--data-dir", data_dir, *self.s3.server_args(self.prefix),
                         env=CREDENTIALS)
        self.assertEqual(good.returncode, 0, good.stdout + good.stderr)
        self.assertIn("reachable and writable", good.stdout)
        missing = h.run_cli("check", "--database", dsn, "--data-dir", data_dir, *self.s3.server_args(self.prefix),
                            env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
        self.assertEqual(missing.returncode, 2, missing.stderr)
        self.assertIn("AWS_SECRET_ACCESS_KEY", missing.stderr)
        server = h.Server(*self.s3.server_args(self.prefix), database=dsn, data_dir=data_dir, env=wrong,
                          start=False)
        self.addCleanup(server.cleanup)
        with self.assertRaises(h.ServerStartError) as refused:
            server.start()
        self.assertIn("InvalidAccessKeyId", str(refused.exception))
        self.assertNotIn("super-secret-value-123", server.stderr_text(whole=True))

    def _tmp(self) -> str:
        import shutil
        import tempfile
        path = tempfile.mkdtemp(prefix="teamreg-e2e-s3-")
        self.addCleanup(shutil.rmtree, path, True)
        return path


class ScaleOut(S3Case):
    def test_three_processes_one_database_one_bucket_separate_data_dirs(self):
        dsn = h.postgres().new_database()
        servers = [self.s3_server(database=dsn) for _ in range(3)]
        self.assertEqual(len({s.data_dir for s in servers}), 3)
        forms = [h.make_team() for _ in range(30)]
        results = h.Load(servers, forms, workers=15).start().join()
        self.assertOutcomes([(r, (201, None, None)) for r in results])
        self.assertEqual(sorted(r.team_id for r in results), h.team_ids(range(1, 31)))
        resp = register(servers[0])
        team_id = self.assertCreated(resp, "ICCT-031")
        sent = {p.name: p.data for p in resp.form.parts if p.is_file}
        for name, data in sent.items():
            got = self.download(servers[2], team_id, name)
            self.assertEqual(got.status, 200, got.describe())
            self.assertEqual(got.body, data)
        self.assertS3Invariants(servers[0], results + [resp])


if __name__ == "__main__":
    unittest.main()
