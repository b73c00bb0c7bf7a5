"""Idempotency-Key: one team per key however often and however concurrently it is sent."""

import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402


def new_key() -> str:
    return f"e2e-{uuid.uuid4()}"


def is_replay(resp) -> bool:
    return (resp.header("Idempotent-Replayed") or "").lower() == "true"


class Idempotency(E2ETestCase):
    def test_same_key_ten_times_concurrently_makes_one_team(self):
        server = self.start_server()
        form, key = h.make_team(), new_key()  # one form: every copy is the same bytes
        results = h.run_concurrently(lambda _: register(server, form, idempotency_key=key), range(10),
                                     workers=10, start_together=True)
        originals = [r for r in results if r.status == 201 and not is_replay(r)]
        replays = [r for r in results if r.status == 201 and is_replay(r)]
        in_use = [r for r in results if r.status == 409]
        self.assertEqual(len(originals), 1, [r.describe() for r in results])
        self.assertEqual(len(originals) + len(replays) + len(in_use), 10, [r.describe() for r in results])
        original = originals[0]
        team_id = self.assertCreated(original, "ICCT-001")
        for r in replays:
            self.assertCreated(r, team_id)
            self.assertEqual(r.json, original.json)
        for r in in_use:
            self.assertError(r, 409, "IDEMPOTENCY_KEY_IN_USE")

        later = register(server, form, idempotency_key=key)
        self.assertCreated(later, team_id)
        self.assertTrue(is_replay(later), later.describe())
        self.assertEqual(later.json, original.json)
        self.assertEqual(server.backend().team_count(), 1)
        self.assertInvariants(server, [original])

    def test_same_key_different_body_is_422(self):
        server = self.start_server()
        key = new_key()
        first = register(server, idempotency_key=key)
        self.assertCreated(first, "ICCT-001")
        self.assertFalse(is_replay(first), first.describe())
        self.assertError(register(server, idempotency_key=key), 422, "IDEMPOTENCY_KEY_REUSED")
        changed = h.Form(first.form.boundary)  # the first body with one field changed
        changed.parts = [h.Part(p.name, p.data, p.filename, p.content_type) for p in first.form.parts]
        changed.set("vice_name", "Someone Else")
        self.assertError(register(server, changed, idempotency_key=key), 422, "IDEMPOTENCY_KEY_REUSED")
        self.assertEqual(server.backend().team_count(), 1)
        self.assertInvariants(server, [first])

    def test_different_keys_make_different_teams(self):
        server = self.start_server()
        first = register(server, idempotency_key=new_key())
        second = register(server, idempotency_key=new_key())
        self.assertCreated(first, "ICCT-001")
        self.assertCreated(second, "ICCT-002")
        self.assertInvariants(server, [first, second])

    def test_replay_survives_a_restart(self):
        server = self.start_server()
        form, key = h.make_team(), new_key()
        first = register(server, form, idempotency_key=key)
        self.assertCreated(first, "ICCT-001")
        server.restart()
        again = register(server, form, idempotency_key=key)
        self.assertCreated(again, "ICCT-001")
        self.assertTrue(is_replay(again), again.describe())
        self.assertEqual(again.json, first.json)
        self.assertEqual(server.backend().team_count(), 1)
        self.assertInvariants(server, [first])

    def test_invalid_keys_are_400(self):
        server = self.start_server()
        for description, key in (("empty", ""), ("256 characters", "k" * 256), ("inner space", "has space"),
                                 ("tab", "tab\tkey"), ("non-ASCII", "caf\xe9")):
            with self.subTest(description):
                self.assertError(register(server, idempotency_key=key), 400, "VALIDATION_FAILED", "Idempotency-Key")
        self.assertEqual(server.backend().team_count(), 0)
        longest = register(server, idempotency_key="k" * 255)
        punctuation = register(server, idempotency_key="!#$%&'*+-.^_`|~:/?=@[]{}")
        self.assertCreated(longest, "ICCT-001")
        self.assertCreated(punctuation, "ICCT-002")
        self.assertInvariants(server, [longest, punctuation])


if __name__ == "__main__":
    unittest.main()
