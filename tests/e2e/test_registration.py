"""Registration happy paths, gapless sequential IDs, public reads, request IDs, CORS and ID formatting."""

import http.client
import os
import re
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, get, register, request, team_ids  # noqa: E402

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
PERSONAL_KEYS = re.compile(r"phone|email|whatsapp|aadhar|subscription|receipt|letter|photo|document|file", re.I)
LIST_KEYS = {"team_id", "team_name", "church_name", "captain_name", "registration_date", "registration_status"}


def personal_values(form: h.Form) -> list[str]:
    """Values that public routes must never show."""
    names = ("captain_phone", "captain_email", "captain_whatsapp", "vice_phone", "vice_email", "vice_whatsapp")
    return [form.value(n) for n in names if form.value(n)]


class SequentialIds(E2ETestCase):
    def test_three_in_a_row_get_001_002_003(self):
        server = self.start_server()
        responses = [register(server) for _ in range(3)]
        self.assertEqual([self.assertCreated(r) for r in responses], ["ICCT-001", "ICCT-002", "ICCT-003"])
        self.assertInvariants(server, responses)

    def test_five_concurrent_get_exactly_001_to_005(self):
        server = self.start_server()
        responses = h.run_concurrently(lambda _: register(server), range(5), workers=5, start_together=True)
        ids = sorted(self.assertCreated(r) for r in responses)
        self.assertEqual(ids, team_ids(range(1, 6)))
        self.assertInvariants(server, responses)

    def test_restart_continues_with_006(self):
        server = self.start_server()
        first = [register(server) for _ in range(5)]
        self.assertEqual([self.assertCreated(r) for r in first], team_ids(range(1, 6)))
        server.restart()  # SIGTERM, exit 0 checked, same data dir and database
        after = register(server)
        self.assertCreated(after, "ICCT-006")
        self.assertInvariants(server, first + [after])

    def test_sigint_stops_gracefully_and_keeps_data(self):
        server = self.start_server()
        first = register(server)
        self.assertCreated(first, "ICCT-001")
        self.assertEqual(server.stop(sig=signal.SIGINT), 0)
        server.start()
        second = register(server)
        self.assertCreated(second, "ICCT-002")
        self.assertInvariants(server, [first, second])


class CreatedResponse(E2ETestCase):
    def test_201_body_shape_and_stored_row(self):
        server = self.start_server()
        form = h.make_team(players=12)
        form.set("team_name", "  Spaced Out Eleven  ")
        email = f"Mixed.Case.{h.unique_number()}@Example.COM"
        form.set("captain_email", f" {email} ")
        resp = register(server, form)
        self.assertCreated(resp, "ICCT-001")
        self.assertTrue((resp.header("Content-Type") or "").startswith("application/json"), resp.describe())
        self.assertEqual(resp.json, {
            "success": True,
            "team_id": "ICCT-001",
            "team_name": "Spaced Out Eleven",
            "message": h.CREATED_MESSAGE,
            "player_count": 12,
            "registration_status": "pending",
        })
        team = server.backend().team("ICCT-001")
        self.assertEqual(team["number"], 1)
        self.assertEqual(team["team_name"], "Spaced Out Eleven")
        self.assertEqual(team["captain_email"], email.lower())
        self.assertEqual(team["status"], "pending")
        self.assertTrue(team["request_uuid"], "every team stores its request UUID")
        self.assertInvariants(server, [resp])

    def test_alias_route_register_team(self):
        server = self.start_server()
        first = register(server, path="/register/team")
        second = register(server)
        self.assertCreated(first, "ICCT-001")
        self.assertCreated(second, "ICCT-002")
        self.assertInvariants(server, [first, second])

    def test_minimal_documents_and_no_roles(self):
        server = self.start_server()
        form = h.make_team(documents="minimal")
        for part in [p for p in form.parts if p.name.endswith("_role")]:
            form.remove(part.name)
        resp = register(server, form)
        self.assertCreated(resp, "ICCT-001")
        self.assertEqual(resp.json["player_count"], 11)
        self.assertEqual(list(server.backend().documents()["ICCT-001"]), ["pastor_letter"])
        self.assertInvariants(server, [resp])


class PublicReads(E2ETestCase):
    """Three teams: two for Grace Church (locked at the default limit of 2), one for Hope Church."""

    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_class_server()
        cls.forms = [h.make_team(players=12, church="Grace Church"), h.make_team(church="Hope Church"),
                     h.make_team(players=15, church="Grace Church")]
        cls.responses = [register(cls.server, f) for f in cls.forms]
        got = [r.team_id for r in cls.responses]
        if got != team_ids(range(1, 4)):
            raise AssertionError(f"setup registrations failed: {[r.describe() for r in cls.responses]}")

    def assertNoPersonalData(self, resp: h.Response) -> None:
        text = resp.body.decode("utf-8")
        for form in self.forms:
            for value in personal_values(form):
                self.assertNotIn(value, text, f"public route leaks {value!r}")

    def test_list_teams(self):
        resp = get(self.server, "/api/teams")
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertCors(resp)
        body = resp.json
        self.assertIs(body["success"], True)
        self.assertEqual(body["total_teams"], 3)
        self.assertEqual(body["returned"], 3)
        self.assertEqual([t["team_id"] for t in body["teams"]], team_ids(range(1, 4)))
        for team, form in zip(body["teams"], self.forms):
            self.assertLessEqual(LIST_KEYS, set(team), team)
            self.assertEqual([k for k in team if PERSONAL_KEYS.search(k)], [], team)
            self.assertEqual(team["team_name"], form.value("team_name"))
            self.assertEqual(team["church_name"], form.value("church_name"))
            self.assertEqual(team["captain_name"], form.value("captain_name"))
            self.assertEqual(team["registration_status"], "pending")
            self.assertRegex(team["registration_date"], ISO_UTC)
        self.assertNoPersonalData(resp)

    def test_list_pagination(self):
        page1 = get(self.server, "/api/teams?limit=2")
        page2 = get(self.server, "/api/teams?limit=2&offset=2")
        beyond = get(self.server, "/api/teams?limit=2&offset=5")
        for resp in (page1, page2, beyond):
            self.assertEqual(resp.status, 200, resp.describe())
            self.assertEqual(resp.json["total_teams"], 3, resp.describe())
        self.assertEqual([t["team_id"] for t in page1.json["teams"]], ["ICCT-001", "ICCT-002"])
        self.assertEqual(page1.json["returned"], 2)
        self.assertEqual([t["team_id"] for t in page2.json["teams"]], ["ICCT-003"])
        self.assertEqual(page2.json["returned"], 1)
        self.assertEqual(beyond.json["teams"], [])
        self.assertEqual(beyond.json["returned"], 0)

    def test_team_detail_with_players(self):
        resp = get(self.server, "/api/teams/ICCT-001")
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertCors(resp)
        body = resp.json
        form = self.forms[0]
        self.assertIs(body["success"], True)
        self.assertEqual(body["team_id"], "ICCT-001")
        self.assertEqual(body["team_name"], form.value("team_name"))
        self.assertEqual(body["church_name"], "Grace Church")
        self.assertEqual(body["captain_name"], form.value("captain_name"))
        self.assertEqual(body["registration_status"], "pending")
        self.assertRegex(body["registration_date"], ISO_UTC)
        self.assertEqual([k for k in body if PERSONAL_KEYS.search(k)], [], body)
        players = body["players"]
        self.assertEqual([p["player_id"] for p in players], [f"ICCT-001-P{i:02d}" for i in range(1, 13)])
        self.assertEqual([p["name"] for p in players], [form.value(f"player_{i}_name") for i in range(12)])
        self.assertEqual([p["role"] for p in players], [form.value(f"player_{i}_role") for i in range(12)])
        for p in players:
            self.assertEqual([k for k in p if PERSONAL_KEYS.search(k)], [], p)
        self.assertNoPersonalData(resp)
        last = get(self.server, "/api/teams/ICCT-003")
        self.assertEqual(last.status, 200, last.describe())
        self.assertEqual(len(last.json["players"]), 15)
        self.assertEqual(last.json["players"][-1]["player_id"], "ICCT-003-P15")

    def test_unknown_team_is_404(self):
        for path in ("/api/teams/ICCT-999", "/api/teams/ICCT-004", "/api/teams/nonsense"):
            with self.subTest(path=path):
                self.assertError(get(self.server, path), 404, "TEAM_NOT_FOUND")

    def test_church_availability(self):
        resp = get(self.server, "/api/churches/availability")
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertCors(resp)
        self.assertEqual(resp.json, {
            "churches": [
                {"church_name": "Grace Church", "team_count": 2, "locked": True},
                {"church_name": "Hope Church", "team_count": 1, "locked": False},
            ],
            "summary": {"total_churches": 2, "locked_churches": 1, "available_churches": 1},
        })

    def test_health_and_ready_on_one_keep_alive_connection(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30)
        try:
            for path in ("/health", "/ready", "/health"):
                conn.request("GET", path, headers={"Origin": h.ORIGIN})
                resp = conn.getresponse()
                body = resp.read()
                self.assertEqual(resp.status, 200, f"{path}: {body!r}")
                self.assertTrue(resp.getheader("X-Request-ID"), path)
                self.assertEqual(resp.getheader("Access-Control-Allow-Origin"), "*", path)
        finally:
            conn.close()


class EmptyServer(E2ETestCase):
    def test_availability_and_list_when_empty(self):
        server = self.start_server()
        resp = get(server, "/api/churches/availability")
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertEqual(resp.json, {"churches": [],
                                     "summary": {"total_churches": 0, "locked_churches": 0,
                                                 "available_churches": 0}})
        teams = get(server, "/api/teams")
        self.assertEqual(teams.status, 200, teams.describe())
        self.assertEqual((teams.json["total_teams"], teams.json["returned"], teams.json["teams"]), (0, 0, []))
        self.assertError(get(server, "/api/teams/ICCT-001"), 404, "TEAM_NOT_FOUND")


class RequestIds(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_class_server()

    def test_sane_request_id_is_echoed(self):
        ok = get(self.server, "/health", headers={"X-Request-ID": "e2e-req-12345"})
        self.assertEqual(ok.header("X-Request-ID"), "e2e-req-12345")
        missing = get(self.server, "/api/teams/ICCT-404", headers={"X-Request-ID": "e2e-req-404"})
        body = self.assertError(missing, 404, "TEAM_NOT_FOUND")
        self.assertEqual(body["request_id"], "e2e-req-404")

    def test_request_id_generated_when_absent(self):
        first = get(self.server, "/health")
        second = get(self.server, "/health")
        self.assertTrue(first.header("X-Request-ID"))
        self.assertTrue(second.header("X-Request-ID"))
        self.assertNotEqual(first.header("X-Request-ID"), second.header("X-Request-ID"))
        invalid = register(self.server, h.invalid_case("team_name with @").build())
        self.assertError(invalid, 400, "VALIDATION_FAILED", "team_name")

    def test_insane_request_id_is_replaced(self):
        for value in ("x" * 1000, "caf\xe9-id"):
            with self.subTest(value=value[:20]):
                resp = get(self.server, "/health", headers={"X-Request-ID": value})
                self.assertEqual(resp.status, 200, resp.describe())
                rid = resp.header("X-Request-ID")
                self.assertTrue(rid)
                self.assertNotEqual(rid, value)
                self.assertLessEqual(len(rid), 200)


PREFLIGHT_METHODS = {"GET", "POST", "PUT", "DELETE", "OPTIONS"}
PREFLIGHT_HEADERS = {"content-type", "idempotency-key", "authorization", "x-request-id"}


def header_set(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


class Cors(E2ETestCase):
    def preflight(self, server, path, origin=h.ORIGIN):
        return request(server, "OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key,x-request-id"})

    def assertPreflight(self, resp, origin="*"):
        self.assertEqual(resp.status, 204, resp.describe())
        self.assertCors(resp, origin)
        self.assertLessEqual(PREFLIGHT_METHODS, {m.upper() for m in header_set(
            resp.header("Access-Control-Allow-Methods"))}, resp.describe())
        self.assertLessEqual(PREFLIGHT_HEADERS, header_set(resp.header("Access-Control-Allow-Headers")),
                             resp.describe())

    def test_preflight_on_every_public_route(self):
        server = self.start_server()
        for path in ("/api/register/team", "/register/team", "/api/teams", "/api/teams/ICCT-001",
                     "/api/churches/availability", "/health"):
            with self.subTest(path=path):
                self.assertPreflight(self.preflight(server, path))

    def test_allow_origin_on_201_400_404_413_415_429(self):
        server = self.start_server("--max-file-bytes", "20000", rate_limit=5)
        created = register(server)
        self.assertCreated(created, "ICCT-001")  # asserts the CORS header too
        self.assertError(register(server, h.invalid_case("captain_phone with 9 digits").build()), 400,
                         "VALIDATION_FAILED", "captain_phone")
        self.assertError(get(server, "/api/teams/ICCT-777"), 404, "TEAM_NOT_FOUND")
        big = h.make_team()
        big.set_file("pastor_letter", h.pdf_bytes(pad=60000), "big.pdf", "application/pdf")
        self.assertError(h.send_streaming(server, "POST", h.REGISTRATION_PATH,
                                          {"Content-Type": big.content_type}, big.encode()),
                         413, "PAYLOAD_TOO_LARGE")
        self.assertError(request(server, "POST", h.REGISTRATION_PATH, body=b'{"team_name": "x"}',
                                 headers={"Content-Type": "application/json"}), 415, "UNSUPPORTED_MEDIA_TYPE")
        limited = None
        for _ in range(10):  # the limit is 5 a minute; whether refused requests count is the server's choice
            resp = register(server)
            if resp.status == 429:
                limited = resp
                break
            self.assertEqual(resp.status, 201, resp.describe())
        self.assertIsNotNone(limited, "no 429 within 14 registration attempts at --rate-limit 5")
        self.assertError(limited, 429, "RATE_LIMITED")
        self.assertTrue(limited.header("Retry-After"), limited.describe())
        self.assertPreflight(self.preflight(server, h.REGISTRATION_PATH))  # preflights are never limited

    def test_configured_origin_list(self):
        server = self.start_server("--cors-origins", "http://a.test,http://b.test")
        allowed = get(server, "/api/teams", headers={"Origin": "http://b.test"})
        self.assertEqual(allowed.status, 200, allowed.describe())
        self.assertCors(allowed, "http://b.test")
        refused = get(server, "/api/teams", headers={"Origin": "http://evil.test"})
        self.assertNotIn(refused.header("Access-Control-Allow-Origin"), ("*", "http://evil.test"),
                         refused.describe())
        self.assertPreflight(self.preflight(server, h.REGISTRATION_PATH, "http://a.test"), "http://a.test")
        error = get(server, "/api/teams/ICCT-001", headers={"Origin": "http://a.test"})
        self.assertEqual(error.status, 404, error.describe())
        self.assertCors(error, "http://a.test")


class IdFormatting(E2ETestCase):
    def test_prefix_and_width_flags(self):
        server = self.start_server("--id-prefix", "TEST", "--id-width", "5")
        resp = register(server)
        self.assertCreated(resp, "TEST-00001")
        detail = get(server, "/api/teams/TEST-00001")
        self.assertEqual(detail.status, 200, detail.describe())
        self.assertEqual(detail.json["players"][0]["player_id"], "TEST-00001-P01")
        self.assertInvariants(server, [resp], prefix="TEST", width=5)

    def test_width_one_grows_past_nine(self):
        server = self.start_server("--id-prefix", "T", "--id-width", "1")
        responses = h.run_concurrently(lambda _: register(server, documents="minimal"), range(11), workers=4)
        self.assertEqual(sorted(self.assertCreated(r) for r in responses),
                         sorted(f"T-{n}" for n in range(1, 12)))
        self.assertInvariants(server, responses, prefix="T", width=1)

    def test_environment_equivalents(self):
        server = self.start_server(env={"TEAMREG_ID_PREFIX": "ENVX", "TEAMREG_ID_WIDTH": "4",
                                        "TEAMREG_MIN_PLAYERS": "12"})
        self.assertError(register(server, players=11), 400, "VALIDATION_FAILED", "players")
        resp = register(server, players=12)
        self.assertCreated(resp, "ENVX-0001")
        self.assertInvariants(server, [resp], prefix="ENVX", width=4)


if __name__ == "__main__":
    unittest.main()
