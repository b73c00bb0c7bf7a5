"""Admin API (issue 4): bearer-token authentication, team review, documents, sequence control, audit log and
CSV export, over real HTTP and through the real CLI."""

import csv
import io
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, admin_request, create_admin_token, register  # noqa: E402

LIST_KEYS = {"teamId", "teamName", "churchName", "captainName", "captainPhone", "captainEmail", "viceCaptainName",
             "viceCaptainPhone", "viceCaptainEmail", "playerCount", "registrationDate", "registrationStatus",
             "paymentReceipt", "pastorLetter", "groupPhoto"}
DETAIL_TEAM_KEYS = {"teamId", "teamName", "churchName", "captain", "viceCaptain", "paymentReceipt", "pastorLetter",
                    "groupPhoto", "registrationDate", "registrationStatus"}
PERSON_KEYS = {"name", "phone", "email", "whatsapp"}
PLAYER_KEYS = {"playerId", "name", "role", "aadharFile", "subscriptionFile"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
FILE_FIELDS = {"payment_receipt": "paymentReceipt", "pastor_letter": "pastorLetter", "group_photo": "groupPhoto"}
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def admin_routes(team_id: str) -> list[tuple[str, str]]:
    """Every admin route of API.md, with real path parameters."""
    return [
        ("GET", "/admin/teams"),
        ("GET", "/admin/teams?status=pending&q=x&limit=5&offset=0"),
        ("GET", f"/admin/teams/{team_id}"),
        ("GET", f"/admin/players/{team_id}-P01"),
        ("PUT", f"/admin/teams/{team_id}/confirm"),
        ("PUT", f"/admin/teams/{team_id}/reject"),
        ("GET", f"/admin/teams/{team_id}/files/pastor_letter"),
        ("GET", "/admin/sequence/current"),
        ("POST", "/admin/sequence/reset?new_number=50"),
        ("POST", "/admin/sequence/sync"),
        ("GET", "/admin/export.csv"),
        ("GET", "/admin/audit"),
    ]


class AdminCase(E2ETestCase):
    def admin_server(self, *args: str, **kw) -> tuple[h.Server, str]:
        """A server (no failure limit unless args set one) and a token made with the CLI."""
        if "--admin-failure-limit" not in args:
            args = args + ("--admin-failure-limit", "0")
        server = self.start_server(*args, **kw)
        return server, create_admin_token(server)

    def ok(self, resp: h.Response, status: int = 200) -> dict:
        self.assertEqual(resp.status, status, resp.describe())
        self.assertCors(resp)
        self.assertRequestId(resp)
        body = resp.json
        self.assertIsInstance(body, dict, resp.describe())
        self.assertIs(body.get("success"), True, resp.describe())
        return body

    def audit(self, server: h.Server, token: str) -> list[dict]:
        return self.ok(admin_request(server, "GET", "/admin/audit?limit=1000", token))["data"]

    def sequence(self, server: h.Server, token: str) -> dict:
        return self.ok(admin_request(server, "GET", "/admin/sequence/current", token))


class Authentication(AdminCase):
    def test_every_route_answers_401_without_a_token_and_with_a_wrong_or_revoked_one(self):
        server, token = self.admin_server()
        team_id = self.assertCreated(register(server), "ICCT-001")
        revoked = create_admin_token(server, "to-be-revoked")
        self.ok(admin_request(server, "GET", "/admin/sequence/current", revoked))  # works until revoked
        result = h.teamreg_cli(server, "admin", "token", "revoke", "--name", "to-be-revoked")
        self.assertEqual(result.returncode, 0, result.stderr)

        attempts = {"no token": None, "wrong token": "0" * 64, "revoked token": revoked,
                    "empty bearer": ""}
        for method, path in admin_routes(team_id):
            for label, credential in attempts.items():
                with self.subTest(route=f"{method} {path}", credential=label):
                    resp = admin_request(server, method, path, credential, body=b"{}" if method != "GET" else None)
                    self.assertError(resp, 401, "UNAUTHORIZED")
                    self.assertIn("Bearer", resp.header("WWW-Authenticate") or "", resp.describe())
            with self.subTest(route=f"{method} {path}", credential="Basic scheme"):
                resp = h.request(server, method, path, headers={"Authorization": f"Basic {token}"})
                self.assertError(resp, 401, "UNAUTHORIZED")

        # Nothing the unauthenticated requests asked for happened.
        self.assertEqual(server.backend().sequence()["last_number"], 1)
        self.assertEqual(server.backend().team(team_id)["status"], "pending")
        self.assertEqual([e["action"] for e in self.audit(server, token)], ["token.revoke", "token.create",
                                                                            "token.create"])
        # The same routes work with the valid token.
        for method, path in admin_routes(team_id):
            with self.subTest(route=f"{method} {path}", credential="valid"):
                resp = admin_request(server, method, path, token)
                self.assertEqual(resp.status, 200, resp.describe())

    def test_tokens_are_never_logged(self):
        server, token = self.admin_server()
        wrong = "f" * 64
        self.assertError(admin_request(server, "GET", "/admin/teams", wrong), 401, "UNAUTHORIZED")
        self.ok(admin_request(server, "GET", "/admin/teams", token))
        server.stop()
        log = server.stderr_text(whole=True)
        self.assertIn("admin authentication failed", log)
        self.assertNotIn(wrong, log)
        self.assertNotIn(token, log)

    def test_only_a_hash_of_the_token_is_stored(self):
        server, token = self.admin_server()
        rows = server.backend().rows("SELECT name, token_hash FROM admin_tokens")
        self.assertEqual(len(rows), 1)
        self.assertNotIn(token, rows[0][1])
        import hashlib
        self.assertEqual(rows[0][1], hashlib.sha256(token.encode()).hexdigest())

    def test_failed_attempts_are_rate_limited_per_address(self):
        server, token = self.admin_server("--admin-failure-limit", "3")
        for _ in range(3):
            self.assertError(admin_request(server, "GET", "/admin/teams", "1" * 64), 401, "UNAUTHORIZED")
        limited = admin_request(server, "GET", "/admin/teams", "1" * 64)
        self.assertError(limited, 429, "RATE_LIMITED")
        self.assertTrue((limited.header("Retry-After") or "").isdigit(), limited.describe())
        # Public routes are not affected.
        self.assertEqual(h.get(server, "/api/teams").status, 200)

    def test_a_valid_token_is_never_locked_out_by_failures_from_its_address(self):
        server, token = self.admin_server("--admin-failure-limit", "10")
        wrong = ({}, {"Authorization": "Bearer " + "1" * 64}, {"Authorization": "Basic abc"})  # all failures
        failures = [admin_request(server, "GET", "/admin/teams", None, headers=wrong[i % 3]) for i in range(50)]
        self.assertEqual([r.status for r in failures], [401] * 10 + [429] * 40)
        for resp in failures[:10]:
            self.assertError(resp, 401, "UNAUTHORIZED")
        for resp in failures[10:]:
            self.assertError(resp, 429, "RATE_LIMITED")
            self.assertTrue((resp.header("Retry-After") or "").isdigit(), resp.describe())
        for method, path in (("GET", "/admin/teams"), ("GET", "/admin/sequence/current"),
                             ("POST", "/admin/sequence/sync")):
            self.ok(admin_request(server, method, path, token))
        # Success does not lift the limit for further failures.
        self.assertError(admin_request(server, "GET", "/admin/teams", "2" * 64), 429, "RATE_LIMITED")
        self.ok(admin_request(server, "GET", "/admin/teams", token))
        server.stop()
        log = server.stderr_text(whole=True)
        self.assertIn("admin authentication blocked client=127.0.0.1", log)
        self.assertNotIn(token, log)
        self.assertNotIn("1" * 64, log)

    def test_environment_token_is_accepted_and_audited_as_env(self):
        env_token = "e" * 40
        server = self.start_server(env={"TEAMREG_ADMIN_TOKEN": env_token})
        self.assertCreated(register(server), "ICCT-001")
        self.ok(admin_request(server, "PUT", "/admin/teams/ICCT-001/confirm", env_token))
        entries = self.audit(server, env_token)
        self.assertEqual(entries[0]["actor"], "env", entries)
        self.assertError(admin_request(server, "GET", "/admin/teams", "e" * 39), 401, "UNAUTHORIZED")

    def test_a_short_environment_token_stops_the_server_from_starting(self):
        data_dir = os.path.join(tempfile.mkdtemp(prefix="teamreg-e2e-admin-"), "data")
        self.addCleanup(shutil.rmtree, os.path.dirname(data_dir), True)
        result = h.run_cli("serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0",
                           env={"TEAMREG_ADMIN_TOKEN": "short-secret"})
        self.assertGreater(result.returncode, 0, result.stderr)
        self.assertNotIn("listening on", result.stdout)
        self.assertIn("TEAMREG_ADMIN_TOKEN", result.stderr)
        self.assertNotIn("short-secret", result.stderr)

    def test_no_default_token(self):
        server = self.start_server()
        for guess in ("admin", "changeme", "secret", "token", "0" * 64):
            self.assertError(admin_request(server, "GET", "/admin/sequence/current", guess), 401, "UNAUTHORIZED")

    def test_cli_token_commands(self):
        server, _ = self.admin_server()
        listed = h.teamreg_cli(server, "admin", "token", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout, r"tester-\d+\s+active")
        duplicate = h.teamreg_cli(server, "admin", "token", "create", "--name", "ops")
        self.assertEqual(duplicate.returncode, 0, duplicate.stderr)
        again = h.teamreg_cli(server, "admin", "token", "create", "--name", "ops")
        self.assertEqual(again.returncode, 1, again.stdout)
        self.assertEqual(again.stdout, "")
        reserved = h.teamreg_cli(server, "admin", "token", "create", "--name", "env")
        self.assertEqual(reserved.returncode, 1)
        missing = h.teamreg_cli(server, "admin", "token", "revoke", "--name", "nobody")
        self.assertEqual(missing.returncode, 1)
        revoked = h.teamreg_cli(server, "admin", "token", "revoke", "--name", "ops")
        self.assertEqual(revoked.returncode, 0, revoked.stderr)
        listed = h.teamreg_cli(server, "admin", "token", "list")
        self.assertRegex(listed.stdout, r"ops\s+revoked")


class Sequence(AdminCase):
    def test_current_on_a_fresh_database(self):
        server, token = self.admin_server()
        self.assertEqual(self.sequence(server, token),
                         {"success": True, "current_number": 0, "next_team_id": "ICCT-001", "highest_issued": 0})

    def test_reset_below_the_highest_issued_number_is_409_and_changes_nothing(self):
        server, token = self.admin_server()
        for n in range(1, 4):
            self.assertCreated(register(server), h.format_team_id(n))
        for below in (0, 1, 2):
            resp = admin_request(server, "POST", f"/admin/sequence/reset?new_number={below}", token)
            self.assertError(resp, 409, "SEQUENCE_BELOW_ISSUED", "new_number")
        self.assertEqual(self.sequence(server, token)["current_number"], 3)
        self.assertEqual(server.backend().sequence()["last_number"], 3)
        self.assertFalse([e for e in self.audit(server, token) if e["action"].startswith("sequence.")])
        self.assertCreated(register(server), "ICCT-004")

    def test_reset_validation(self):
        server, token = self.admin_server()
        for query in ("?new_number=-1", "?new_number=-100", "", "?new_number=", "?new_number=abc",
                      "?new_number=1.5", "?new_number=99999999999999999999"):
            with self.subTest(query=query):
                resp = admin_request(server, "POST", f"/admin/sequence/reset{query}", token)
                self.assertError(resp, 400, "VALIDATION_FAILED", "new_number")
        self.assertEqual(server.backend().sequence()["last_number"], 0)

    def test_reset_upwards_then_register_gets_the_new_number(self):
        server, token = self.admin_server()
        self.assertCreated(register(server), "ICCT-001")
        body = self.ok(admin_request(server, "POST", "/admin/sequence/reset?new_number=10", token))
        self.assertEqual((body["current_number"], body["next_team_id"], body["highest_issued"], body["changed"],
                          body["previous_number"], body["skipped_numbers"]), (10, "ICCT-011", 1, True, 1, 9))
        self.assertCreated(register(server), "ICCT-011")
        self.assertEqual(self.sequence(server, token)["current_number"], 11)
        entry = self.audit(server, token)[0]
        self.assertEqual((entry["action"], entry["subject"], entry["from"], entry["to"]),
                         ("sequence.reset", "team", "1", "10"), entry)
        self.assertTrue(entry["actor"].startswith("tester-"), entry)
        self.assertRegex(entry["at"], ISO_UTC)
        self.assertIn("2 to 10", entry["detail"])  # the gap is recorded

    def test_reset_survives_a_restart(self):
        server, token = self.admin_server()
        self.ok(admin_request(server, "POST", "/admin/sequence/reset?new_number=41", token))
        server.restart()
        self.assertCreated(register(server), "ICCT-042")

    def test_sync_raises_after_a_hand_inserted_team_and_never_lowers(self):
        server, token = self.admin_server()
        self.assertCreated(register(server), "ICCT-001")
        self.assertCreated(register(server), "ICCT-002")
        h.insert_team_by_hand(server, "ICCT-009", 9)
        before = self.sequence(server, token)
        self.assertEqual((before["current_number"], before["highest_issued"]), (2, 9))
        body = self.ok(admin_request(server, "POST", "/admin/sequence/sync", token))
        self.assertEqual((body["changed"], body["sequence_number"], body["next_team_id"]), (True, 9, "ICCT-010"))
        self.assertCreated(register(server), "ICCT-010")
        again = self.ok(admin_request(server, "POST", "/admin/sequence/sync", token))
        self.assertEqual((again["changed"], again["sequence_number"]), (False, 10))
        self.ok(admin_request(server, "POST", "/admin/sequence/reset?new_number=30", token))
        never_lower = self.ok(admin_request(server, "POST", "/admin/sequence/sync", token))
        self.assertEqual((never_lower["changed"], never_lower["sequence_number"], never_lower["next_team_id"]),
                         (False, 30, "ICCT-031"))
        syncs = [e for e in self.audit(server, token) if e["action"] == "sequence.sync"]
        self.assertEqual([(e["from"], e["to"]) for e in syncs], [("2", "9")])

    def test_cli_sequence_commands_share_the_rules_and_are_audited_as_cli(self):
        server, token = self.admin_server()
        self.assertCreated(register(server), "ICCT-001")
        self.assertCreated(register(server), "ICCT-002")
        shown = h.teamreg_cli(server, "sequence", "show")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertEqual(json.loads(shown.stdout)["next_team_id"], "ICCT-003")
        below = h.teamreg_cli(server, "sequence", "reset", "1")
        self.assertEqual(below.returncode, 1, below.stdout)
        self.assertIn("SEQUENCE_BELOW_ISSUED", below.stderr)
        negative = h.teamreg_cli(server, "sequence", "reset", "-1")
        self.assertEqual(negative.returncode, 1, negative.stdout + negative.stderr)
        self.assertIn("VALIDATION_FAILED", negative.stderr)
        self.assertEqual(server.backend().sequence()["last_number"], 2)
        up = h.teamreg_cli(server, "sequence", "reset", "7")
        self.assertEqual(up.returncode, 0, up.stderr)
        self.assertEqual(json.loads(up.stdout)["next_team_id"], "ICCT-008")
        h.insert_team_by_hand(server, "ICCT-012", 12)
        synced = h.teamreg_cli(server, "sequence", "sync")
        self.assertEqual(synced.returncode, 0, synced.stderr)
        self.assertEqual(json.loads(synced.stdout)["sequence_number"], 12)
        self.assertCreated(register(server), "ICCT-013")
        actions = [(e["actor"], e["action"]) for e in self.audit(server, token) if e["action"].startswith("sequence")]
        self.assertEqual(actions, [("cli", "sequence.sync"), ("cli", "sequence.reset")])


class Teams(AdminCase):
    def test_list_shape_order_filters_and_file_urls(self):
        server, token = self.admin_server()
        first = register(server)
        second = register(server, documents="minimal")
        self.assertCreated(first, "ICCT-001")
        self.assertCreated(second, "ICCT-002")
        body = self.ok(admin_request(server, "GET", "/admin/teams", token))
        self.assertEqual(body["total"], 2)
        self.assertEqual([t["teamId"] for t in body["data"]], ["ICCT-002", "ICCT-001"])  # newest first
        for team in body["data"]:
            self.assertEqual(set(team), LIST_KEYS)
            self.assertRegex(team["registrationDate"], ISO_UTC)
        newest, oldest = body["data"]
        form = first.form
        self.assertEqual((oldest["teamName"], oldest["captainEmail"], oldest["captainPhone"], oldest["playerCount"],
                          oldest["viceCaptainName"], oldest["registrationStatus"]),
                         (form.value("team_name"), form.value("captain_email"), form.value("captain_phone"), 11,
                          form.value("vice_name"), "pending"))
        for field, key in FILE_FIELDS.items():
            self.assertEqual(oldest[key], f"/admin/teams/ICCT-001/files/{field}")
        self.assertEqual(newest["pastorLetter"], "/admin/teams/ICCT-002/files/pastor_letter")
        self.assertIsNone(newest["paymentReceipt"])
        self.assertIsNone(newest["groupPhoto"])

        self.ok(admin_request(server, "PUT", "/admin/teams/ICCT-001/confirm", token))
        confirmed = self.ok(admin_request(server, "GET", "/admin/teams?status=confirmed", token))
        self.assertEqual(([t["teamId"] for t in confirmed["data"]], confirmed["total"]), (["ICCT-001"], 1))
        search = second.form.value("team_name").upper()
        found = self.ok(admin_request(server, "GET", "/admin/teams?q=" + search.replace(" ", "%20"), token))
        self.assertEqual([t["teamId"] for t in found["data"]], ["ICCT-002"])
        page = self.ok(admin_request(server, "GET", "/admin/teams?limit=1&offset=1", token))
        self.assertEqual(([t["teamId"] for t in page["data"]], page["total"]), (["ICCT-001"], 2))
        self.assertError(admin_request(server, "GET", "/admin/teams?status=approved", token), 400,
                         "VALIDATION_FAILED", "status")
        self.assertError(admin_request(server, "GET", "/admin/teams?limit=0", token), 400, "VALIDATION_FAILED",
                         "limit")

    def test_detail_and_player(self):
        server, token = self.admin_server()
        resp = register(server)
        team_id = self.assertCreated(resp, "ICCT-001")
        form = resp.form
        data = self.ok(admin_request(server, "GET", f"/admin/teams/{team_id}", token))["data"]
        self.assertEqual(set(data), {"team", "players"})
        team = data["team"]
        self.assertEqual(set(team), DETAIL_TEAM_KEYS)
        self.assertEqual(set(team["captain"]), PERSON_KEYS)
        self.assertEqual(set(team["viceCaptain"]), PERSON_KEYS)
        self.assertEqual(team["captain"], {"name": form.value("captain_name"), "phone": form.value("captain_phone"),
                                           "email": form.value("captain_email"),
                                           "whatsapp": form.value("captain_whatsapp")})
        self.assertEqual(team["viceCaptain"]["email"], form.value("vice_email"))
        self.assertEqual(team["pastorLetter"], f"/admin/teams/{team_id}/files/pastor_letter")
        players = data["players"]
        self.assertEqual(len(players), 11)
        for i, player in enumerate(players):
            self.assertEqual(set(player), PLAYER_KEYS)
            self.assertEqual(player["playerId"], f"{team_id}-P{i + 1:02d}")
            self.assertEqual(player["name"], form.value(f"player_{i}_name"))
            self.assertEqual(player["role"], form.value(f"player_{i}_role"))
        self.assertEqual(players[0]["aadharFile"], f"/admin/teams/{team_id}/files/player_0_aadhar_file")
        self.assertIsNone(players[0]["subscriptionFile"])
        self.assertEqual(players[1]["subscriptionFile"], f"/admin/teams/{team_id}/files/player_1_subscription_file")
        self.assertIsNone(players[2]["aadharFile"])

        player = self.ok(admin_request(server, "GET", f"/admin/players/{team_id}-P01", token))["data"]
        self.assertEqual((player["playerId"], player["name"], player["teamId"], player["teamName"],
                          player["churchName"], player["aadharFile"]),
                         (f"{team_id}-P01", form.value("player_0_name"), team_id, form.value("team_name"),
                          form.value("church_name"), f"/admin/teams/{team_id}/files/player_0_aadhar_file"))
        self.assertError(admin_request(server, "GET", "/admin/teams/ICCT-404", token), 404, "TEAM_NOT_FOUND")
        self.assertError(admin_request(server, "GET", f"/admin/players/{team_id}-P99", token), 404,
                         "PLAYER_NOT_FOUND")

    def test_confirm_twice_is_one_audit_entry(self):
        server, token = self.admin_server()
        team_id = self.assertCreated(register(server), "ICCT-001")
        first = self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/confirm", token))
        self.assertEqual((first["team_id"], first["registration_status"], first["email_notification"],
                          first["alreadyConfirmed"]), (team_id, "confirmed", "disabled", False))
        self.assertIsInstance(first["message"], str)
        second = self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/confirm", token))
        self.assertEqual((second["registration_status"], second["alreadyConfirmed"]), ("confirmed", True))
        confirms = [e for e in self.audit(server, token) if e["action"] == "team.confirm"]
        self.assertEqual(len(confirms), 1, confirms)
        self.assertEqual((confirms[0]["subject"], confirms[0]["from"], confirms[0]["to"]),
                         (team_id, "pending", "confirmed"))
        self.assertEqual(server.backend().team(team_id)["status"], "confirmed")
        public = h.get(server, f"/api/teams/{team_id}").json
        self.assertEqual(public["registration_status"], "confirmed")
        self.assertError(admin_request(server, "PUT", "/admin/teams/ICCT-404/confirm", token), 404,
                         "TEAM_NOT_FOUND")

    def test_reject_then_register_again_with_the_same_email_is_201(self):
        server, token = self.admin_server()
        first = register(server)
        team_id = self.assertCreated(first, "ICCT-001")
        email = first.form.value("captain_email")
        church = first.form.value("church_name")
        self.assertError(register(server, captain_email=email), 409, "DUPLICATE_CAPTAIN_EMAIL")
        rejected = self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/reject", token,
                                         body={"reason": "Pastor letter unreadable"}))
        self.assertEqual((rejected["registration_status"], rejected["reason"], rejected["alreadyRejected"]),
                         ("rejected", "Pastor letter unreadable", False))
        again = self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/reject", token))
        self.assertTrue(again["alreadyRejected"])
        # The rejected team frees its e-mail, its team name + phone and its church slot.
        retry = register(server, captain_email=email, team_name=first.form.value("team_name"),
                         captain_phone=first.form.value("captain_phone"), church=church)
        self.assertCreated(retry, "ICCT-002")
        rejects = [e for e in self.audit(server, token) if e["action"] == "team.reject"]
        self.assertEqual(len(rejects), 1)
        self.assertEqual(rejects[0]["detail"], "Pastor letter unreadable")
        # Its slot is taken now: confirming the rejected team would break the e-mail rule.
        self.assertError(admin_request(server, "PUT", f"/admin/teams/{team_id}/confirm", token), 409,
                         "DUPLICATE_CAPTAIN_EMAIL")
        self.assertEqual(server.backend().team(team_id)["status"], "rejected")
        self.assertInvariants(server)

    def test_reject_without_a_body_and_with_a_bad_body(self):
        server, token = self.admin_server()
        team_id = self.assertCreated(register(server), "ICCT-001")
        for bad in (b"not json", b"[1, 2]", json.dumps({"reason": 42}).encode(),
                    json.dumps({"reason": "x" * 501}).encode()):
            with self.subTest(body=bad[:20]):
                resp = admin_request(server, "PUT", f"/admin/teams/{team_id}/reject", token, body=bad)
                self.assertError(resp, 400, "VALIDATION_FAILED", "reason")
        self.assertEqual(server.backend().team(team_id)["status"], "pending")
        body = self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/reject", token))
        self.assertEqual((body["registration_status"], body["reason"]), ("rejected", None))
        confirmed = self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/confirm", token))
        self.assertFalse(confirmed["alreadyConfirmed"])  # a rejected team whose slots are free can be confirmed


class Documents(AdminCase):
    def test_every_document_downloads_byte_identical(self):
        server, token = self.admin_server()
        resp = register(server)
        team_id = self.assertCreated(resp, "ICCT-001")
        sent = {p.name: p for p in resp.form.parts if p.is_file}
        self.assertEqual(len(sent), 5)
        stored = server.backend().documents()[team_id]
        for name, part in sent.items():
            with self.subTest(field=name):
                got = admin_request(server, "GET", f"/admin/teams/{team_id}/files/{name}", token)
                self.assertEqual(got.status, 200, got.describe())
                self.assertEqual(got.body, part.data)
                content_type = stored[name]["content_type"]
                self.assertEqual(got.header("Content-Type"), content_type)
                self.assertEqual(got.header("Content-Disposition"),
                                 f'attachment; filename="{team_id}_{name}.{EXTENSIONS[content_type]}"')
                self.assertEqual(got.header("X-Content-Type-Options"), "nosniff")
                self.assertCors(got)

    def test_inline_preview_keeps_the_safe_name_and_adds_a_sandbox(self):
        server, token = self.admin_server()
        resp = register(server)
        team_id = self.assertCreated(resp, "ICCT-001")
        sent = {p.name: p for p in resp.form.parts if p.is_file}
        stored = server.backend().documents()[team_id]
        for name, part in sent.items():
            with self.subTest(field=name):
                url = f"/admin/teams/{team_id}/files/{name}"
                shown = admin_request(server, "GET", f"{url}?inline=1", token)
                self.assertEqual(shown.status, 200, shown.describe())
                self.assertEqual(shown.body, part.data)
                content_type = stored[name]["content_type"]
                self.assertEqual(shown.header("Content-Type"), content_type)
                self.assertEqual(shown.header("Content-Disposition"),
                                 f'inline; filename="{team_id}_{name}.{EXTENSIONS[content_type]}"')
                self.assertEqual(shown.header("X-Content-Type-Options"), "nosniff")
                self.assertEqual(shown.header("Content-Security-Policy"), "sandbox; frame-ancestors 'self'")
                self.assertEqual(shown.header("Cache-Control"), "no-store")
                # Any other value, or none, is the download it always was.
                for query in ("", "?inline=0", "?inline=true", "?inline="):
                    got = admin_request(server, "GET", f"{url}{query}", token)
                    self.assertEqual(got.status, 200, got.describe())
                    self.assertTrue(got.header("Content-Disposition").startswith("attachment; "), query)
                    self.assertIsNone(got.header("Content-Security-Policy"), query)
        anonymous = admin_request(server, "GET", f"/admin/teams/{team_id}/files/pastor_letter?inline=1", None)
        self.assertEqual(anonymous.status, 401, anonymous.describe())

    def test_documents_are_found_by_team_and_field_only(self):
        server, token = self.admin_server()
        self.assertCreated(register(server), "ICCT-001")
        self.assertCreated(register(server, documents="minimal"), "ICCT-002")
        self.assertError(admin_request(server, "GET", "/admin/teams/ICCT-002/files/group_photo", token), 404,
                         "NOT_FOUND")
        self.assertError(admin_request(server, "GET", "/admin/teams/ICCT-404/files/pastor_letter", token), 404,
                         "TEAM_NOT_FOUND")
        key = server.backend().documents()["ICCT-001"]["pastor_letter"]["storage_key"]
        for name in (key, "..%2Fteamreg.db", "..%2F..%2Fdata%2Fteamreg.db", "%2Fetc%2Fpasswd", "pastor_letter%00"):
            with self.subTest(name=name):
                resp = admin_request(server, "GET", f"/admin/teams/ICCT-001/files/{name}", token)
                self.assertError(resp, 404, "NOT_FOUND")
        letter = admin_request(server, "GET", "/admin/teams/ICCT-001/files/pastor_letter", token)
        self.assertEqual(letter.status, 200, letter.describe())
        self.assertTrue(letter.body.startswith(b"%PDF"))


class Export(AdminCase):
    NASTY = [
        ("Smith, John", "Batsman"),
        ('The "Wall" Dravid', "Bowler"),
        ("Line one\nline two", "All-Rounder"),
        ("=cmd|' /C calc'!A0", "Wicket-Keeper"),
        ("+SUM(1,2)", ""),
        ("-2+3", ""),
        ("@import", ""),
        ("\tTabbed", ""),
        ("Ünïcödé 名前", ""),
    ]

    def export(self, server: h.Server, token: str) -> list[list[str]]:
        resp = admin_request(server, "GET", "/admin/export.csv", token)
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertTrue((resp.header("Content-Type") or "").startswith("text/csv"), resp.describe())
        self.assertIn("attachment", resp.header("Content-Disposition") or "")
        return list(csv.reader(io.StringIO(resp.body.decode("utf-8"), newline="")))

    def test_csv_parses_back_with_commas_quotes_newlines_and_formulas(self):
        server, token = self.admin_server()
        ok = register(server)
        self.assertCreated(ok, "ICCT-001")
        h.insert_team_by_hand(server, "ICCT-002", 2, team_name='=HYPERLINK("http://evil","x")',
                              church_name="St. Mary's, \"Old\" Town\nNorth", captain_name="@Captain, Jr.",
                              players=self.NASTY)
        rows = self.export(server, token)
        header, body = rows[0], rows[1:]
        self.assertEqual(header[:4], ["team_id", "team_name", "church_name", "registration_status"])
        self.assertIn("player_name", header)
        self.assertEqual(len(body), 11 + len(self.NASTY))
        self.assertTrue(all(len(r) == len(header) for r in body), body)
        col = {name: i for i, name in enumerate(header)}
        by_team = {}
        for r in body:
            by_team.setdefault(r[col["team_id"]], []).append(r)
        self.assertEqual([r[col["player_name"]] for r in by_team["ICCT-001"]],
                         [ok.form.value(f"player_{i}_name") for i in range(11)])
        self.assertEqual(by_team["ICCT-001"][0][col["captain_email"]], ok.form.value("captain_email"))

        def neutral(value: str) -> str:
            return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
        hand = by_team["ICCT-002"]
        self.assertEqual([r[col["player_name"]] for r in hand], [neutral(n) for n, _ in self.NASTY])
        self.assertEqual([r[col["player_id"]] for r in hand], [f"ICCT-002-P{i:02d}" for i in range(1, 10)])
        self.assertEqual(hand[0][col["team_name"]], "'=HYPERLINK(\"http://evil\",\"x\")")
        self.assertEqual(hand[0][col["church_name"]], "St. Mary's, \"Old\" Town\nNorth")
        self.assertEqual(hand[0][col["captain_name"]], "'@Captain, Jr.")
        for r in body:
            for cell in r:
                self.assertNotIn(cell[:1], ("=", "+", "-", "@", "\t", "\r"), f"formula cell {cell!r}")

    def test_a_large_export_is_streamed_chunked_and_reads_back_whole(self):
        # 450 teams: three pages of the server's 200 (CsvExport::kPageTeams), the last one short.
        server, token = self.admin_server()
        players = [(f"Player {chr(65 + i)}", "Batsman") for i in range(11)]
        h.execute_sql(server, "".join(h.hand_team_sql(f"ICCT-{n:03d}", n, team_name=f"Team {n}", players=players)
                                      for n in range(1, 451)))
        resp = admin_request(server, "GET", "/admin/export.csv", token)
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertEqual(resp.header("Transfer-Encoding"), "chunked", resp.describe())
        self.assertIsNone(resp.header("Content-Length"), resp.describe())
        rows = list(csv.reader(io.StringIO(resp.body.decode("utf-8"), newline="")))
        self.assertEqual(rows[0][0], "team_id")
        self.assertEqual(len(rows), 1 + 450 * 11)
        ids = [r[0] for r in rows[1:]]
        self.assertEqual(ids, [f"ICCT-{n:03d}" for n in range(1, 451) for _ in range(11)])
        self.assertEqual([r[16] for r in rows[1:12]], [name for name, _ in players])

        # An HTTP/1.0 client cannot take chunks: the body ends when the server closes.
        with socket.create_connection((server.host, server.port), timeout=30) as sock:
            sock.sendall(f"GET /admin/export.csv HTTP/1.0\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            old = h.read_response(sock, "GET", "/admin/export.csv")
        self.assertEqual(old.status, 200, old.describe())
        self.assertIsNone(old.header("Transfer-Encoding"), old.describe())
        self.assertEqual(old.body, resp.body)

    def test_a_team_without_players_still_has_a_row(self):
        server, token = self.admin_server()
        h.insert_team_by_hand(server, "ICCT-001", 1)
        rows = self.export(server, token)
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1][0], "ICCT-001")


class Audit(AdminCase):
    def test_newest_first_with_who_what_from_to(self):
        server, token = self.admin_server()
        team_id = self.assertCreated(register(server), "ICCT-001")
        self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/confirm", token))
        self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/reject", token, body={"reason": "late"}))
        self.ok(admin_request(server, "POST", "/admin/sequence/reset?new_number=5", token))
        body = self.ok(admin_request(server, "GET", "/admin/audit", token))
        entries = body["data"]
        self.assertEqual(body["total"], len(entries))
        self.assertEqual([e["action"] for e in entries],
                         ["sequence.reset", "team.reject", "team.confirm", "token.create"])
        self.assertEqual([e["id"] for e in entries], sorted((e["id"] for e in entries), reverse=True))
        for e in entries:
            self.assertEqual(set(e), {"id", "at", "actor", "action", "subject", "from", "to", "detail"})
            self.assertRegex(e["at"], ISO_UTC)
        self.assertEqual((entries[1]["from"], entries[1]["to"], entries[1]["detail"]), ("confirmed", "rejected", "late"))
        self.assertEqual(entries[0]["actor"], entries[1]["actor"])
        page = self.ok(admin_request(server, "GET", "/admin/audit?limit=1&offset=1", token))
        self.assertEqual([e["action"] for e in page["data"]], ["team.reject"])


if __name__ == "__main__":
    unittest.main()
