"""Every validation rule of API.md (status, error_code, details.field), the 409 uniqueness rules, body limits
and media types, and that a rejected registration leaves no team, no used number and no file behind."""

import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register, request  # noqa: E402

MAX_FILE = 64 * 1024


def pdf_of_size(size: int, tag: str = "") -> bytes:
    data = h.pdf_bytes(tag, pad=size - len(h.pdf_bytes(tag, pad=0)))
    assert len(data) == size
    return data


def oversized_form() -> h.Form:
    form = h.make_team()
    form.set_file("pastor_letter", pdf_of_size(MAX_FILE + 1), "letter.pdf", "application/pdf")
    return form


def post_large(server, form: h.Form) -> h.Response:
    return h.send_streaming(server, "POST", h.REGISTRATION_PATH, {"Content-Type": form.content_type},
                            form.encode())


def garbled_requests() -> list[tuple[str, str, bytes]]:
    """(description, Content-Type, body) of multipart bodies that cannot be parsed."""
    form = h.make_team()
    b = form.boundary
    valid = form.encode()
    nameless = valid.replace(f"--{b}--\r\n".encode(),
                             f"--{b}\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--{b}--\r\n".encode())
    return [
        ("multipart without boundary parameter", "multipart/form-data", valid),
        ("boundary never appears", "multipart/form-data; boundary=nowhere1234", b"hello world\r\n" * 20),
        ("closing boundary missing", form.content_type, valid[:-len(f"--{b}--\r\n")]),
        ("body cut inside a part", form.content_type, valid[:len(valid) // 2]),
        ("part without a name", form.content_type, nameless),
        ("empty body", form.content_type, b""),
    ]


def not_multipart_requests() -> list[tuple[str, str | None, bytes]]:
    return [
        ("json", "application/json", b'{"team_name": "Some Team"}'),
        ("urlencoded", "application/x-www-form-urlencoded", b"team_name=Some+Team&church_name=Grace"),
        ("plain text", "text/plain", b"team_name: Some Team"),
        ("no content type", None, b"team_name=Some+Team"),
    ]


def post_raw(server, content_type: str | None, body: bytes) -> h.Response:
    return request(server, "POST", h.REGISTRATION_PATH, body=body, headers={"Content-Type": content_type})


class ValidationRules(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_class_server("--max-file-bytes", str(MAX_FILE))

    def state(self) -> tuple[int, int]:
        backend = self.server.backend()
        return backend.team_count(), backend.sequence().get("last_number")

    def assertNothingStoredSince(self, before: tuple[int, int]) -> None:
        self.assertEqual(self.state(), before, "a rejected registration changed the teams or the sequence")

    def test_each_rule_is_rejected_naming_its_field(self):
        before = self.state()
        for case in h.INVALID_CASES:
            with self.subTest(case.description):
                self.assertError(register(self.server, case.build()), 400, "VALIDATION_FAILED", case.field)
        self.assertNothingStoredSince(before)

    def test_accepted_edge_values(self):
        n = h.unique_number()
        word = h.letters(n)
        edits = {
            "church name with dot and apostrophe": {"church_name": f"St. Peter's Church {word}"},
            "team name of 80 characters": {"team_name": (f"Boundary{word}" + "x" * 80)[:80]},
            "team name of 3 characters": {"team_name": "A1b"},
            "team name with apostrophe and hyphen": {"team_name": f"Saint's Eleven-{n}"},
            "church name of 100 characters": {"church_name": (f"Church{word}" + "a" * 100)[:100]},
            "captain name with punctuation": {"captain_name": "Mary-Ann D'Souza Jr."},
            "phones with +91 and spaces": {"captain_phone": "+91 98765 43210", "vice_phone": "+91 9123 456 789",
                                           "captain_whatsapp": "+91 91234 56780"},
            "blank whatsapp numbers": {"captain_whatsapp": "", "vice_whatsapp": ""},
            "player name of 2 characters": {"player_3_name": "Al"},
            "player name with punctuation": {"player_5_name": "O'Neil-Smith Jr."},
            "mixed-case e-mail": {"captain_email": f"Upper.Case.{n}@Example.COM"},
        }
        acknowledged = []
        for description, values in edits.items():
            with self.subTest(description):
                form = h.make_team()
                for name, value in values.items():
                    form.set(name, value)
                resp = register(self.server, form)
                self.assertCreated(resp)
                acknowledged.append(resp)
        for players in (11, 15):
            with self.subTest(players=players):
                resp = register(self.server, players=players)
                self.assertCreated(resp)
                self.assertEqual(resp.json["player_count"], players)
                acknowledged.append(resp)
        self.assertInvariants(self.server, acknowledged)

    def test_phone_is_stored_as_ten_digits(self):
        form = h.make_team()
        digits = h.phone(h.unique_number(), "6")
        form.set("captain_phone", f"+91 {digits[:5]} {digits[5:]}")
        resp = register(self.server, form)
        team_id = self.assertCreated(resp)
        stored = self.server.backend().scalar(f"SELECT captain_phone FROM teams WHERE team_id = '{team_id}'")
        self.assertEqual(stored, digits)

    def test_file_type_is_judged_by_content_not_name(self):
        form = h.make_team()
        form.set_file("pastor_letter", h.png_bytes("really a png"), "letter.pdf", "application/pdf")
        form.set_file("group_photo", h.pdf_bytes("really a pdf"), "photo.jpg", "application/octet-stream")
        resp = register(self.server, form)
        team_id = self.assertCreated(resp)
        documents = self.server.backend().documents()[team_id]
        self.assertEqual(documents["pastor_letter"]["content_type"], "image/png")
        self.assertEqual(documents["group_photo"]["content_type"], "application/pdf")
        self.assertInvariants(self.server, [resp])

    def test_client_file_name_is_never_a_path(self):
        marker = f"teamreg-e2e-{uuid.uuid4().hex}.pdf"
        form = h.make_team()
        form.set_file("pastor_letter", h.pdf_bytes("traversal"), f"../../../../tmp/{marker}", "application/pdf")
        form.set_file("payment_receipt", h.png_bytes("abs"), f"/tmp/{marker}.png", "image/png")
        resp = register(self.server, form)
        self.assertCreated(resp)
        self.assertFalse(os.path.exists(f"/tmp/{marker}"), "a client file name was used as a path")
        self.assertFalse(os.path.exists(f"/tmp/{marker}.png"), "a client file name was used as a path")
        for dirpath, _, files in os.walk(os.path.dirname(self.server.data_dir)):
            self.assertFalse([f for f in files if marker in f], f"client file name used in {dirpath}")
        for docs in self.server.backend().documents().values():
            for doc in docs.values():
                self.assertNotIn(marker, doc["storage_key"])

    def test_file_at_limit_accepted_one_byte_more_is_413(self):
        at_limit = h.make_team()
        at_limit.set_file("pastor_letter", pdf_of_size(MAX_FILE, "limit"), "letter.pdf", "application/pdf")
        resp = post_large(self.server, at_limit)
        resp.form = at_limit
        self.assertCreated(resp)
        before = self.state()
        self.assertError(post_large(self.server, oversized_form()), 413, "PAYLOAD_TOO_LARGE")
        big_photo = h.make_team()
        big_photo.set_file("group_photo", h.jpeg_bytes("big", pad=MAX_FILE), "photo.jpg", "image/jpeg")
        self.assertError(post_large(self.server, big_photo), 413, "PAYLOAD_TOO_LARGE")
        self.assertNothingStoredSince(before)
        self.assertInvariants(self.server, [resp])

    def test_not_multipart_is_415(self):
        before = self.state()
        for description, content_type, body in not_multipart_requests():
            with self.subTest(description):
                self.assertError(post_raw(self.server, content_type, body), 415, "UNSUPPORTED_MEDIA_TYPE")
        self.assertNothingStoredSince(before)

    def test_garbled_multipart_is_400(self):
        before = self.state()
        for description, content_type, body in garbled_requests():
            with self.subTest(description):
                # Which field a broken body is blamed on is the server's choice; that one is named is not.
                body = self.assertError(post_raw(self.server, content_type, body), 400, "VALIDATION_FAILED")
                self.assertTrue(isinstance(body["details"].get("field"), str) and body["details"]["field"], body)
        self.assertNothingStoredSince(before)


class Conflicts(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_class_server()

    def test_duplicate_captain_email_ignores_case(self):
        email = f"dup.{h.unique_number()}@example.com"
        first = register(self.server, captain_email=email)
        self.assertCreated(first)
        count = self.server.backend().team_count()
        for variant in (email, email.upper(), f"  {email}  "):
            with self.subTest(variant=variant):
                self.assertError(register(self.server, captain_email=variant), 409, "DUPLICATE_CAPTAIN_EMAIL")
        self.assertEqual(self.server.backend().team_count(), count)
        self.assertInvariants(self.server, [first])

    def test_duplicate_team_name_and_captain_phone(self):
        digits = h.phone(h.unique_number(), "7")
        name = f"Twin Team {h.letters(h.unique_number())}"
        first = register(self.server, team_name=name, captain_phone=digits)
        self.assertCreated(first)
        count = self.server.backend().team_count()
        for phone in (digits, f"+91 {digits[:5]} {digits[5:]}"):
            with self.subTest(phone=phone):
                self.assertError(register(self.server, team_name=name, captain_phone=phone), 409, "DUPLICATE_TEAM")
        self.assertEqual(self.server.backend().team_count(), count)
        other_phone = register(self.server, team_name=name)  # same name, another captain: fine
        self.assertCreated(other_phone)
        self.assertInvariants(self.server, [first, other_phone])

    def test_church_limit_counts_case_and_space_insensitively(self):
        church = f"Grace Fellowship {h.letters(h.unique_number())}"
        first = register(self.server, church=church)
        second = register(self.server, church=church.upper())
        self.assertCreated(first)
        self.assertCreated(second)
        count = self.server.backend().team_count()
        for variant in (church, "  " + church.lower().replace(" ", "  ") + " "):
            with self.subTest(variant=variant):
                body = self.assertError(register(self.server, church=variant), 409, "CHURCH_LIMIT_REACHED")
                self.assertEqual(body["message"], h.CHURCH_LIMIT_MESSAGE)
                self.assertEqual(body.get("detail"), h.CHURCH_LIMIT_MESSAGE)
        self.assertEqual(self.server.backend().team_count(), count)
        self.assertInvariants(self.server, [first, second])


class NothingLeftBehind(E2ETestCase):
    def test_rejected_requests_leave_no_team_number_or_file(self):
        server = self.start_server("--max-file-bytes", str(MAX_FILE))
        church = "Nothing Left Church"
        kept = [register(server, church=church), register(server, church=church)]
        self.assertEqual([self.assertCreated(r) for r in kept], ["ICCT-001", "ICCT-002"])
        for case in h.INVALID_CASES:
            self.assertEqual(register(server, case.build()).status, 400, case.description)
        self.assertEqual(post_large(server, oversized_form()).status, 413)
        for description, content_type, body in not_multipart_requests():
            self.assertEqual(post_raw(server, content_type, body).status, 415, description)
        for description, content_type, body in garbled_requests():
            self.assertEqual(post_raw(server, content_type, body).status, 400, description)
        self.assertEqual(register(server, church=church).status, 409)
        self.assertEqual(register(server, captain_email=kept[0].form.value("captain_email")).status, 409)
        self.assertEqual(register(server, team_name=kept[1].form.value("team_name"),
                                  captain_phone=kept[1].form.value("captain_phone")).status, 409)
        backend = server.backend()
        self.assertEqual((backend.team_count(), backend.sequence()["last_number"]), (2, 2))

        server.stop()
        time.sleep(2)  # every staged file is now older than the 1 s TTL below
        server.restart("--max-file-bytes", str(MAX_FILE), "--staging-ttl", "1", "--sweep-interval", "1")
        self.assertEqual(h.wait_for_clean_staging(backend, server.data_dir, timeout=10), [])
        self.assertInvariants(server, kept, staging_clean=True)
        third = register(server)
        self.assertCreated(third, "ICCT-003")
        self.assertInvariants(server, kept + [third])


if __name__ == "__main__":
    unittest.main()
