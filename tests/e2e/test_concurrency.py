"""Gapless, unique IDs and race-safe uniqueness rules under concurrent registrations."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register, team_ids  # noqa: E402

CREATED = (201, None, None)
VALIDATION = "VALIDATION_FAILED"
BAD_FIELD_CASES = [h.invalid_case(d) for d in (
    "team_name with @", "10 players", "captain_email without @", "player role not in the list",
    "player index 12 while 11 is missing")]
FAKE_PNG_CASE = h.invalid_case("payment_receipt is text named .png")


class ConcurrentRegistrations(E2ETestCase):
    def test_200_valid_interleaved_with_60_invalid(self):
        server = self.start_server()
        full_church = "Zion Full Church"
        valid = [h.make_team(church=full_church) for _ in range(2)] + [h.make_team() for _ in range(198)]
        # Before the storm: the full church's two teams and the 15 teams whose e-mails will be reused.
        seeded = [register(server, form) for form in valid[:17]]
        self.assertEqual([self.assertCreated(r) for r in seeded], team_ids(range(1, 18)))

        jobs = [(form, CREATED) for form in valid[17:]]
        for k in range(15):
            taken = valid[2 + k].value("captain_email").upper()
            jobs.append((h.make_team(captain_email=taken), (409, "DUPLICATE_CAPTAIN_EMAIL", None)))
            jobs.append((h.make_team(church=full_church.lower()), (409, "CHURCH_LIMIT_REACHED", None)))
            jobs.append((FAKE_PNG_CASE.build(), (400, VALIDATION, FAKE_PNG_CASE.field)))
            bad = BAD_FIELD_CASES[k % len(BAD_FIELD_CASES)]
            jobs.append((bad.build(), (400, VALIDATION, bad.field)))
        jobs = h.shuffled(jobs)
        self.assertEqual((len(jobs), sum(1 for _, e in jobs if e == CREATED)), (243, 183))

        results = h.run_concurrently(lambda job: register(server, job[0]), jobs, workers=50)
        self.assertOutcomes([(resp, expected) for resp, (_, expected) in zip(results, jobs)])
        acknowledged = seeded + [r for r, (_, e) in zip(results, jobs) if e == CREATED]
        self.assertEqual(sorted(r.team_id for r in acknowledged), team_ids(range(1, 201)))
        self.assertEqual(server.backend().team_count(), 200)
        self.assertInvariants(server, acknowledged)

    def test_20_concurrent_with_one_captain_email(self):
        server = self.start_server()
        email = f"same.captain.{h.unique_number()}@example.com"
        forms = [h.make_team(captain_email=email) for _ in range(20)]
        results = h.run_concurrently(lambda f: register(server, f), forms, workers=20, start_together=True)
        created = [r for r in results if h.outcome(r) == (201, None, None)]
        self.assertEqual(len(created), 1, [h.outcome(r) for r in results])
        self.assertOutcomes([(r, (409, "DUPLICATE_CAPTAIN_EMAIL", None)) for r in results if r is not created[0]])
        self.assertEqual([t["captain_email"] for t in server.backend().teams()], [email])
        self.assertInvariants(server, created)

    def test_6_concurrent_for_one_church(self):
        server = self.start_server()
        spellings = ["Bethel Church", "BETHEL CHURCH", "bethel  church", " Bethel Church ", "Bethel church",
                     "bethel CHURCH"]
        forms = [h.make_team(church=s) for s in spellings]
        results = h.run_concurrently(lambda f: register(server, f), forms, workers=6, start_together=True)
        created = [r for r in results if h.outcome(r) == (201, None, None)]
        self.assertEqual(len(created), 2, [h.outcome(r) for r in results])
        created_ids = {id(r) for r in created}
        self.assertOutcomes([(r, (409, "CHURCH_LIMIT_REACHED", None)) for r in results if id(r) not in created_ids])
        self.assertEqual(server.backend().team_count(), 2)
        availability = h.get(server, "/api/churches/availability")
        self.assertEqual(availability.status, 200, availability.describe())
        churches = availability.json["churches"]
        self.assertEqual(len(churches), 1, churches)
        self.assertEqual((churches[0]["team_count"], churches[0]["locked"]), (2, True))
        self.assertInvariants(server, created)

    def test_clients_that_hang_up_while_queued_leave_whole_teams_or_nothing(self):
        """A client that sends its whole registration and hangs up at once (so its request is still
        queued or committing): its team is either committed with everything, or absent."""
        server = self.start_server()
        abandoned = [h.make_team() for _ in range(30)]
        answered = [h.make_team() for _ in range(30)]

        def hang_up(form):
            body = form.encode()
            sock = h.socket.create_connection((server.host, server.port), timeout=30)
            head = (f"POST /api/register/team HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                    f"Content-Type: {form.content_type}\r\nContent-Length: {len(body)}\r\n\r\n")
            sock.sendall(head.encode("latin-1") + body)
            sock.close()
            return "hung up"

        jobs = [(hang_up, f) for f in abandoned] + [(lambda f: register(server, f), f) for f in answered]
        results = h.run_concurrently(lambda job: job[0](job[1]), h.shuffled(jobs), workers=60)
        self.assertEqual([r for r in results if isinstance(r, h.Failed)], [])
        acknowledged = [r for r in results if isinstance(r, h.Response)]
        self.assertEqual([r.status for r in acknowledged], [201] * len(answered))

        # Let the server finish what the hung-up clients left queued, then judge the whole state.
        deadline = h.time.monotonic() + 20
        backend = server.backend()
        while h.time.monotonic() < deadline:
            before = backend.team_count()
            h.time.sleep(1.0)
            if backend.team_count() == before:
                break
        stored = {t["captain_email"]: t for t in backend.teams()}
        expected = [h.Expected.of(r) for r in acknowledged]
        for form in abandoned:
            team = stored.get(form.value("captain_email").strip().lower())
            if team is not None:  # committed: it must be whole, like an acknowledged one
                expected.append(h.Expected(team["team_id"], form.value("team_name").strip(),
                                           team["captain_email"], form.player_count(), form.documents()))
        self.assertGreaterEqual(len(stored), len(answered))
        self.assertEqual(len(expected), len(stored))
        self.assertInvariants(server, expected)


if __name__ == "__main__":
    unittest.main()
