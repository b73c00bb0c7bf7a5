"""A sequence behind the issued IDs heals itself (both databases): lowered by SQL while the server runs, the
next registration still gets 201 with the next free ID, the server logs a warning with both numbers, and no
409 is ever answered or stored under an Idempotency-Key (issue 9)."""

import os
import re
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402

WARNING = re.compile(r"sequence behind the highest issued number, raised name=team "
                     r"last_number=(\d+) highest_issued=(\d+)")


class SequenceHeal(E2ETestCase):
    def lower_sequence(self, server: h.Server, number: int) -> None:
        h.execute_sql(server, f"UPDATE id_sequences SET last_number = {number} WHERE name = 'team'")

    def test_lowered_sequence_gives_the_next_free_id_and_logs_both_numbers(self):
        server = self.start_server()
        for expected in ("ICCT-001", "ICCT-002", "ICCT-003"):
            self.assertCreated(register(server), expected)
        self.lower_sequence(server, 1)  # as a restored backup of the sequence would
        key = f"heal-{uuid.uuid4()}"
        first = register(server, idempotency_key=key)
        self.assertCreated(first, "ICCT-004")
        self.assertEqual(WARNING.findall(server.stderr_text()), [("1", "3")], server.stderr_tail())
        # The stored answer is the 201: a retry replays it, never a 409.
        again = register(server, first.form, idempotency_key=key)
        self.assertCreated(again, "ICCT-004")
        self.assertEqual(again.body, first.body)
        self.assertEqual((again.header("Idempotent-Replayed") or "").lower(), "true")
        self.assertCreated(register(server), "ICCT-005")
        self.assertEqual(server.backend().sequence()["last_number"], 5)
        self.assertEqual(len(WARNING.findall(server.stderr_text())), 1, "healed once, then in step")
        self.assertInvariants(server, [h.Expected.of(first)])

    def test_concurrent_registrations_after_the_sequence_was_lowered_all_succeed(self):
        server = self.start_server()
        for expected in h.team_ids(range(1, 6)):
            self.assertCreated(register(server), expected)
        self.lower_sequence(server, 0)
        forms = [h.make_team() for _ in range(8)]
        responses = h.run_concurrently(
            lambda form: register(server, form, idempotency_key=f"k-{uuid.uuid4()}"), forms, workers=8)
        ids = sorted(self.assertCreated(resp) for resp in responses)
        self.assertEqual(ids, h.team_ids(range(6, 14)))
        self.assertEqual(server.backend().sequence()["last_number"], 13)
        self.assertEqual(server.backend().scalar("SELECT COUNT(*) FROM idempotency_keys WHERE status <> 201"),
                         "0")
        self.assertRegex(server.stderr_text(), WARNING)


if __name__ == "__main__":
    unittest.main()
