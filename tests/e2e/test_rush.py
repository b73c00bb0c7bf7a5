"""The deadline rush at default settings (issue 9): many concurrent registrations with every document, an
ordinary open-file limit, a full disk and slow uploads never crash the server, never refuse a registration
that could be served, and never lose or half-store one."""

import os
import shutil
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, get, register  # noqa: E402

DOCUMENT_BYTES = 100_000


def full_team(players: int = 15, document_bytes: int = DOCUMENT_BYTES) -> h.Form:
    """W2: a team with every document the form allows (3 + 2 per player = 33 for 15 players)."""
    form = h.make_team(players=players, documents="minimal")
    tag = form.value("captain_email")
    form.set_file("pastor_letter", h.pdf_bytes(tag + "-letter", pad=document_bytes), "letter.pdf",
                  "application/pdf")
    form.file("payment_receipt", h.jpeg_bytes(tag + "-receipt", pad=document_bytes), "receipt.jpg", "image/jpeg")
    form.file("group_photo", h.jpeg_bytes(tag + "-photo", pad=document_bytes), "photo.jpg", "image/jpeg")
    for i in range(players):
        form.file(f"player_{i}_aadhar_file", h.jpeg_bytes(f"{tag}-a{i}", pad=document_bytes), "a.jpg", "image/jpeg")
        form.file(f"player_{i}_subscription_file", h.pdf_bytes(f"{tag}-s{i}", pad=document_bytes), "s.pdf",
                  "application/pdf")
    return form


def _upload_head(form: h.Form, body: bytes, extra: str = "") -> bytes:
    """The request line and headers of a registration, for tests that send its body by hand."""
    return (f"POST {h.REGISTRATION_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {h.ORIGIN}\r\n"
            f"Content-Type: {form.content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode()


class RushAtDefaults(E2ETestCase):
    def test_256_concurrent_registrations_are_all_accepted_with_ids_1_to_256(self):
        server = self.start_server()  # defaults, but for --rate-limit 0: all load comes from one address
        forms = [h.make_team(players=12, documents="minimal") for _ in range(256)]
        results = h.run_concurrently(lambda form: register(server, form), forms, workers=256,
                                     start_together=True)
        statuses = sorted({getattr(r, "status", None) for r in results}, key=str)
        refused = [r.describe() if isinstance(r, (h.Response, h.Failed)) else repr(r)
                   for r in results if getattr(r, "status", None) != 201]
        self.assertEqual(refused, [], f"statuses seen: {statuses}")
        ids = sorted(r.team_id for r in results)
        self.assertEqual(ids, h.team_ids(range(1, 257)))
        self.assertTrue(server.running)
        self.assertInvariants(server, results, staging_clean=True)


class OpenFileLimit(E2ETestCase):
    def test_full_registrations_under_256_descriptors_never_crash_the_server(self):
        server = self.start_server(wrapper=["prlimit", "--nofile=256:256", "--"])
        forms = [full_team() for _ in range(40)]
        self.assertEqual(forms[0].documents().__len__(), 33)
        results = h.run_concurrently(lambda form: register(server, form), forms, workers=40,
                                     start_together=True)
        self.assertTrue(server.running, server.stderr_tail())
        unanswered = [r.describe() for r in results if isinstance(r, h.Failed)]
        self.assertEqual(unanswered, [], "every request gets an answer")
        created = [r for r in results if r.status == 201]
        for r in results:
            if r.status != 201:
                self.assertEqual(r.status, 503, r.describe())
                self.assertIn(r.error_code, ("SERVICE_UNAVAILABLE", "STORAGE_FULL"), r.describe())
                self.assertTrue((r.header("Retry-After") or "").isdigit(), r.describe())
        self.assertGreater(len(created), 0)
        self.assertEqual(server.backend().team_count(), len(created))
        self.assertInvariants(server, created, staging_clean=True)
        # Still serving afterwards.
        self.assertCreated(register(server, full_team()), h.format_team_id(len(created) + 1))


def _mount_wrapper(mount_point: str, size: str) -> list[str]:
    """Runs teamreg in a private mount namespace with a small tmpfs on mount_point (root, or a user namespace)."""
    userns = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return (["unshare", *userns, "--mount", "--propagation", "private", "sh", "-c",
             f'mount -t tmpfs -o size={size} tmpfs "$0" && exec "$@"', mount_point])


class DiskFull(E2ETestCase):
    def test_no_space_is_storage_full_nothing_half_stored_then_recovers(self):
        root = tempfile.mkdtemp(prefix="teamreg-e2e-full-")
        self.addCleanup(shutil.rmtree, root, True)
        data_dir = os.path.join(root, "data")
        os.makedirs(data_dir)
        database = None if h.backend_kind() == "postgres" else os.path.join(root, "teamreg.db")
        server = self.start_server(data_dir=data_dir, database=database,
                                   wrapper=_mount_wrapper(data_dir, "24m"))
        view = f"/proc/{server.proc.pid}/root{data_dir}"  # the tmpfs as the server sees it
        ballast = os.path.join(view, "ballast")
        free = os.statvfs(view).f_bavail * os.statvfs(view).f_frsize
        with open(ballast, "wb") as f:
            f.write(b"\0" * (free - 1_000_000))  # leave room for a third of one registration

        for _ in range(2):
            full = register(server, full_team())
            self.assertError(full, 503, "STORAGE_FULL")
            self.assertTrue((full.header("Retry-After") or "").isdigit(), full.describe())
        self.assertTrue(server.running)
        self.assertEqual(server.backend().team_count(), 0, "nothing half-stored")
        self.assertEqual(h.staged_files(view), [], "the failed uploads' files are deleted")
        self.assertIn("errno=28", server.stderr_text())

        os.remove(ballast)
        first = register(server, full_team())
        second = register(server, full_team())
        self.assertCreated(first, "ICCT-001")
        self.assertCreated(second, "ICCT-002")
        self.assertInvariants(server, [first, second], data_dir=view)

    def assertInvariants(self, server, acknowledged=(), data_dir=None, **kw):
        problems = h.check_invariants(server.backend(), data_dir or server.data_dir,
                                      [h.Expected.of(r) for r in acknowledged], **kw)
        self.assertEqual(problems, [], "invariants violated")


class SweeperAndUploadsInFlight(E2ETestCase):
    def test_sweeper_never_deletes_the_documents_of_a_slow_upload(self):
        server = self.start_server("--staging-ttl", "1", "--sweep-interval", "1")
        # Bodies reach the form reader in 64 KiB slices: with 100 KB documents most are staged (and closed)
        # while the rest of the body is still on its way.
        form = full_team(players=11)
        body = form.encode()
        head = _upload_head(form, body)
        sock = socket.create_connection((server.host, server.port), timeout=60)
        try:
            sock.sendall(head + body[:-64])  # every document is staged; the closing boundary is missing
            deadline = time.monotonic() + 10
            while len(h.staged_files(server.data_dir)) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertGreaterEqual(len(h.staged_files(server.data_dir)), 5)
            time.sleep(4)  # several sweeps, each seeing unreferenced files older than the TTL
            self.assertGreaterEqual(len(h.staged_files(server.data_dir)), 5, "a sweep deleted files in flight")
            sock.sendall(body[-64:])
            resp = h.read_response(sock, "POST", h.REGISTRATION_PATH)
        finally:
            sock.close()
        resp.form = form
        self.assertCreated(resp, "ICCT-001")
        self.assertInvariants(server, [resp])


class ExpectContinue(E2ETestCase):
    def test_an_upload_asking_100_continue_gets_it_once_admitted(self):
        server = self.start_server()
        form = full_team(players=11)  # over 1 MiB: curl would send Expect: 100-continue
        body = form.encode()
        head = _upload_head(form, body, "Expect: 100-continue\r\n")
        sock = socket.create_connection((server.host, server.port), timeout=10)
        try:
            sock.sendall(head)
            sock.settimeout(5)
            interim = b""
            while b"\r\n\r\n" not in interim:
                chunk = sock.recv(1024)
                self.assertTrue(chunk, "connection closed before 100 Continue")
                interim += chunk
            self.assertTrue(interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim)
            sock.settimeout(60)
            sock.sendall(body)
            resp = h.read_response(sock, "POST", h.REGISTRATION_PATH)
        finally:
            sock.close()
        resp.form = form
        self.assertCreated(resp, "ICCT-001")
        self.assertInvariants(server, [resp])

    def test_a_refused_upload_gets_its_answer_instead_of_100_continue(self):
        server = self.start_server()
        head = (f"POST {h.REGISTRATION_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\nContent-Length: 2000000\r\n"
                "Expect: 100-continue\r\n\r\n").encode()
        sock = socket.create_connection((server.host, server.port), timeout=10)
        try:
            sock.sendall(head)
            resp = h.read_response(sock, "POST", h.REGISTRATION_PATH)
        finally:
            sock.close()
        self.assertError(resp, 415, "UNSUPPORTED_MEDIA_TYPE")


class StagingQuota(E2ETestCase):
    def test_committed_documents_leave_the_quota_even_when_promotion_is_deferred(self):
        per_registration = sum(h.make_team().documents().values())
        server = self.start_server("--max-staged-bytes", str(3 * per_registration), "--sweep-interval", "1")
        documents = server.documents_dir
        shutil.rmtree(documents)
        open(documents, "wb").close()  # promotion now fails (ENOTDIR) and is left to the sweeper
        results = [register(server) for _ in range(6)]  # twice the quota, one at a time
        for number, resp in enumerate(results, start=1):
            self.assertCreated(resp, h.format_team_id(number))
        os.remove(documents)
        os.makedirs(documents)
        deadline = time.monotonic() + 15
        while h.staged_files(server.data_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(h.staged_files(server.data_dir), [], "the sweeper promotes what was deferred")
        self.assertInvariants(server, results, staging_clean=True)


def _start_partial_upload(server: h.Server, form: h.Form, held_back: int = 64) -> tuple[socket.socket, bytes]:
    """Sends a registration but for its last bytes, and returns once the server is storing its documents:
    the upload then holds its slot until the rest is sent. `form` must be over 64 KiB (bodies reach the
    form reader in 64 KiB slices)."""
    body = form.encode()
    head = _upload_head(form, body)
    before = len(h.staged_files(server.data_dir))
    sock = socket.create_connection((server.host, server.port), timeout=60)
    sock.sendall(head + body[:-held_back])
    deadline = time.monotonic() + 30
    while len(h.staged_files(server.data_dir)) <= before:
        if time.monotonic() > deadline:
            sock.close()
            raise AssertionError("the partial upload was never admitted")
        time.sleep(0.02)
    return sock, body[-held_back:]


def _finish_upload(sock: socket.socket, rest: bytes, form: h.Form) -> h.Response:
    try:
        sock.sendall(rest)
        resp = h.read_response(sock, "POST", h.REGISTRATION_PATH)
    finally:
        sock.close()
    resp.form = form
    return resp


class UploadSlots(E2ETestCase):
    def test_uploads_over_the_cap_wait_for_a_slot_instead_of_being_refused(self):
        server = self.start_server("--max-concurrent-uploads", "1")
        holder_form = full_team(players=11)
        holder, rest = _start_partial_upload(server, holder_form)  # it has the only slot
        load = h.Load([server], [h.make_team() for _ in range(3)], workers=3, timeout=60).start()
        time.sleep(1.5)
        self.assertEqual(load.acknowledged, [], "nobody may pass the holder of the only slot")
        started = time.monotonic()
        self.assertEqual(get(server, "/health").status, 200)
        self.assertLess(time.monotonic() - started, 1.0)
        first = _finish_upload(holder, rest, holder_form)
        self.assertCreated(first, "ICCT-001")
        results = load.join(timeout=60)
        self.assertEqual(sorted(r.status for r in results), [201, 201, 201], [r.describe() for r in results])
        self.assertEqual(sorted(r.team_id for r in results), h.team_ids(range(2, 5)))
        self.assertInvariants(server, [first, *results], staging_clean=True)

    def test_a_wait_that_runs_out_is_503_with_retry_after_and_stores_nothing(self):
        server = self.start_server("--max-concurrent-uploads", "1", "--max-upload-wait", "1")
        holder_form = full_team(players=11)
        holder, rest = _start_partial_upload(server, holder_form)  # it has the only slot
        started = time.monotonic()
        refused = register(server, timeout=30)
        waited = time.monotonic() - started
        self.assertError(refused, 503, "SERVICE_UNAVAILABLE")
        self.assertTrue((refused.header("Retry-After") or "").isdigit(), refused.describe())
        self.assertGreaterEqual(waited, 0.9, "it waited for a slot before giving up")
        self.assertEqual(server.backend().team_count(), 0)
        self.assertCreated(_finish_upload(holder, rest, holder_form), "ICCT-001")
        self.assertCreated(register(server), "ICCT-002")
        self.assertInvariants(server, staging_clean=True)


if __name__ == "__main__":
    unittest.main()
