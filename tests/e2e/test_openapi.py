"""docs/openapi.yaml against the real binary (issue 14): GET /openapi.json is the document, every operation of the
document is routed, and every real response below (status, Content-Type, JSON body) is one the document
describes for that operation, validated with python3-jsonschema against the operation's schema ($refs resolved
in the document). One server per backend; the cases go from a fresh database to registered, confirmed and
rejected teams, documents, CSV, the sequence routes, tokens, users and sessions."""

import json
import os
import re
import sys
import unittest
import urllib.parse

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, admin_request, create_admin_token, register  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORD = "correct horse battery"
METHODS = ("get", "put", "post", "delete")


def load_document() -> dict:
    with open(os.path.join(ROOT, "docs", "openapi.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


class Spec:
    """The document's operations, and the check of one real response against one of them."""

    def __init__(self, document: dict) -> None:
        self.document = document
        self.resolver = jsonschema.RefResolver("", document)
        self.checked: set[tuple[str, str, int]] = set()

    def deref(self, node: dict) -> dict:
        while "$ref" in node:
            node = self.resolver.resolve(node["$ref"])[1]
        return node

    def template_of(self, method: str, path: str) -> str:
        """The document's path template that the request path matches (one, exactly)."""
        plain = urllib.parse.urlsplit(path).path
        matches = []
        for template, item in self.document["paths"].items():
            if method.lower() not in item:
                continue
            # {path} of /assets/{path} may span segments; every other parameter is one segment.
            pattern = re.sub(r"\\\{path\\\}", ".+", re.escape(template))
            pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", pattern)
            if re.fullmatch(pattern, plain):
                matches.append(template)
        if len(matches) != 1:
            raise AssertionError(f"{method} {path} matches {matches or 'no'} operations of the document")
        return matches[0]

    def problems(self, resp: h.Response, template: str | None = None) -> list[str]:
        """What is wrong with the response for the document; empty when it is described exactly."""
        template = template or self.template_of(resp.method, resp.path)
        operation = self.document["paths"][template][resp.method.lower()]
        responses = operation["responses"]
        where = f"{resp.method} {resp.path} ({template}) -> {resp.status}"
        if str(resp.status) not in responses:
            return [f"{where}: status not documented (documented: {sorted(responses)})"]
        self.checked.add((resp.method, template, resp.status))
        described = self.deref(responses[str(resp.status)])
        problems = []
        if not resp.header("X-Request-ID"):
            problems.append(f"{where}: no X-Request-ID")
        content = described.get("content")
        if not content:
            if resp.body:
                problems.append(f"{where}: documented without a body, got {len(resp.body)} bytes")
            return problems
        media_type = (resp.header("Content-Type") or "").split(";")[0].strip().lower()
        if media_type not in content:
            return problems + [f"{where}: Content-Type {media_type!r} not documented ({sorted(content)})"]
        if media_type != "application/json":
            return problems
        try:
            body = json.loads(resp.body)
        except ValueError:
            return problems + [f"{where}: body is not JSON: {resp.body[:200]!r}"]
        validator = jsonschema.Draft202012Validator(content[media_type]["schema"], resolver=self.resolver)
        for error in validator.iter_errors(body):
            at = "/".join(map(str, error.absolute_path)) or "(body)"
            problems.append(f"{where}: {at}: {error.message}")
        return problems


def fill(template: str, values: dict[str, str]) -> str:
    """The template with its parameters, percent-encoded; {path} keeps its slashes (one route per asset)."""
    return re.sub(r"\{([a-z_]+)\}",
                  lambda m: urllib.parse.quote(values[m.group(1)], safe="/" if m.group(1) == "path" else ""),
                  template)


class OpenApiCase(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_class_server()
        cls.token = create_admin_token(cls.server)
        cls.spec = Spec(load_document())

    def assertDescribed(self, resp: h.Response, status: int, error_code: str | None = None,
                        template: str | None = None) -> dict | None:
        """The response has this status (and error code), and the document describes it exactly."""
        self.assertNotIsInstance(resp, h.Failed, getattr(resp, "describe", lambda: "")())
        self.assertEqual(resp.status, status, resp.describe())
        self.assertEqual(self.spec.problems(resp, template), [], resp.describe())
        body = resp.json
        if error_code is not None:
            self.assertEqual(body.get("error_code"), error_code, resp.describe())
        return body

    def admin(self, method: str, path: str, body=None, **kw) -> h.Response:
        return admin_request(self.server, method, path, self.token, body=body, **kw)

    def own_origin(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def cookie_request(self, method: str, path: str, session: str, origin: str | None, body=None) -> h.Response:
        headers = {"Cookie": f"teamreg_session={session}", "Origin": origin}
        return admin_request(self.server, method, path, None, body=body, headers=headers)

    # -- the document itself --------------------------------------------------------------------------------

    def test_served_document_is_the_yaml_file(self):
        resp = h.get(self.server, "/openapi.json")
        self.assertDescribed(resp, 200)
        self.assertEqual(resp.header("Content-Type"), "application/json", resp.describe()[:300])
        self.assertEqual(resp.json, self.spec.document, "GET /openapi.json differs from docs/openapi.yaml")
        self.assertCors(resp)

    def test_every_documented_operation_is_routed(self):
        # Public operations anonymously, admin ones with the token: no route may answer 404 "No such route"
        # or 405, and whatever it does answer must be described (here mostly 4xx for dummy parameters).
        asset = re.search(r'/assets/([^"?]+)\?v=', h.get(self.server, "/").body.decode())
        self.assertIsNotNone(asset, "the public page names no asset")
        values = {"team_id": "ICCT-999", "player_id": "ICCT-999-P01", "name": "nobody-here", "id": "999999",
                  "path": asset.group(1)}
        routed = 0
        for template, item in self.spec.document["paths"].items():
            for method in METHODS:
                if method not in item:
                    continue
                path = fill(template, values)
                with self.subTest(route=f"{method.upper()} {template}"):
                    if template.startswith("/admin/") and not template.startswith("/admin/session"):
                        resp = self.admin(method.upper(), path, body={} if method != "get" else None)
                    else:
                        resp = h.request(self.server, method.upper(), path, body=b"" if method != "get" else None,
                                         headers={"Content-Type": "application/json"})
                    self.assertNotEqual(resp.status, 405, resp.describe())
                    self.assertFalse(resp.status == 404 and (resp.json or {}).get("message") == "No such route",
                                     resp.describe())
                    self.assertEqual(self.spec.problems(resp, template), [], resp.describe())
                    routed += 1
        self.assertGreaterEqual(routed, 35)

    def test_unrouted_paths_and_methods_answer_the_error_shape(self):
        error = {"$ref": "#/components/schemas/Error"}
        validator = jsonschema.Draft202012Validator(error, resolver=self.spec.resolver)
        for method, path, status, code in [("GET", "/no/such/route", 404, "NOT_FOUND"),
                                           ("DELETE", "/api/teams", 405, "METHOD_NOT_ALLOWED"),
                                           ("PUT", "/health", 405, "METHOD_NOT_ALLOWED")]:
            with self.subTest(route=f"{method} {path}"):
                resp = h.request(self.server, method, path)
                self.assertEqual((resp.status, resp.error_code), (status, code), resp.describe())
                self.assertEqual([e.message for e in validator.iter_errors(resp.json)], [], resp.describe())
        preflight = h.request(self.server, "OPTIONS", "/api/register/team",
                              headers={"Access-Control-Request-Method": "POST"})
        self.assertEqual(preflight.status, 204, preflight.describe())
        self.assertEqual(preflight.header("Access-Control-Allow-Methods"), "GET, POST, PUT, DELETE, OPTIONS")

    # -- operations ---------------------------------------------------------------------------------------

    def test_operations_health_ready_metrics(self):
        self.assertEqual(self.assertDescribed(h.get(self.server, "/health"), 200), {"status": "ok"})
        self.assertEqual(self.assertDescribed(h.get(self.server, "/ready"), 200)["status"], "ready")
        metrics = h.get(self.server, "/metrics")
        self.assertDescribed(metrics, 200)
        self.assertIn(b"teamreg_commit_queue_depth", metrics.body)

    def test_web_pages_and_assets(self):
        page = h.get(self.server, "/")
        self.assertDescribed(page, 200)
        self.assertDescribed(h.get(self.server, "/admin"), 200)
        again = h.get(self.server, "/", headers={"If-None-Match": page.header("ETag")})
        self.assertDescribed(again, 304)
        for asset in sorted(set(re.findall(r'/assets/([^"?]+)\?v=', page.body.decode()))):
            with self.subTest(asset=asset):
                self.assertDescribed(h.get(self.server, f"/assets/{asset}"), 200)

    def test_registration_success_replay_and_refusals(self):
        key = f"openapi-{h.unique_number()}"
        first = register(self.server, idempotency_key=key)
        created = self.assertDescribed(first, 201)
        replay = register(self.server, first.form, idempotency_key=key)
        self.assertEqual(self.assertDescribed(replay, 201), created)
        self.assertEqual(replay.header("Idempotent-Replayed"), "true")
        self.assertDescribed(register(self.server, idempotency_key=key), 422, "IDEMPOTENCY_KEY_REUSED")
        self.assertDescribed(register(self.server, idempotency_key="k" * 256), 400, "VALIDATION_FAILED")
        duplicate = h.make_team(captain_email=first.form.value("captain_email"))
        self.assertDescribed(register(self.server, duplicate), 409, "DUPLICATE_CAPTAIN_EMAIL")
        church = first.form.value("church_name")
        self.assertDescribed(register(self.server, church=church), 201)
        limited = self.assertDescribed(register(self.server, church=church), 409, "CHURCH_LIMIT_REACHED")
        self.assertEqual(limited["detail"], limited["message"])
        alias = register(self.server, path="/register/team", documents="minimal")
        self.assertDescribed(alias, 201)

    def test_registration_validation_errors(self):
        for description, form, field in [
            ("missing team_name", h.make_team().remove("team_name"), "team_name"),
            ("short player name", h.make_team().set("player_3_name", "A"), "player_3_name"),
            ("bad role", h.make_team().set("player_0_role", "Keeper"), "player_0_role"),
            ("too few players", h.make_team(players=10), "players"),
            ("unknown field", h.make_team().text("nickname", "x"), "nickname"),
            ("fake image", h.make_team().set_file("group_photo", h.FAKE_IMAGE, "a.png", "image/png"), "group_photo"),
        ]:
            with self.subTest(description):
                body = self.assertDescribed(register(self.server, form), 400, "VALIDATION_FAILED")
                self.assertEqual(body["details"]["field"], field)
        json_body = h.request(self.server, "POST", "/api/register/team", body=b"{}",
                              headers={"Content-Type": "application/json"})
        self.assertDescribed(json_body, 415, "UNSUPPORTED_MEDIA_TYPE")

    def test_public_reads(self):
        team_id = self.assertDescribed(register(self.server), 201)["team_id"]
        listed = self.assertDescribed(h.get(self.server, "/api/teams?limit=1000"), 200)
        self.assertIn(team_id, [t["team_id"] for t in listed["teams"]])
        detail = self.assertDescribed(h.get(self.server, f"/api/teams/{team_id}"), 200)
        self.assertEqual(len(detail["players"]), 11)
        self.assertDescribed(h.get(self.server, "/api/teams/ICCT-99999"), 404, "TEAM_NOT_FOUND")
        self.assertDescribed(h.get(self.server, "/api/teams?limit=0"), 400, "VALIDATION_FAILED")
        self.assertDescribed(h.get(self.server, "/api/churches/availability"), 200)

    def test_admin_without_credentials_and_reads(self):
        self.assertDescribed(admin_request(self.server, "GET", "/admin/teams", None), 401, "UNAUTHORIZED")
        self.assertDescribed(admin_request(self.server, "GET", "/admin/teams", "0" * 64), 401, "UNAUTHORIZED")
        first = register(self.server)
        team_id = self.assertDescribed(first, 201)["team_id"]
        listed = self.assertDescribed(self.admin("GET", "/admin/teams?status=pending&q=Team&limit=50"), 200)
        self.assertIn(team_id, [t["teamId"] for t in listed["data"]])
        self.assertDescribed(self.admin("GET", "/admin/teams?status=lost"), 400, "VALIDATION_FAILED")
        detail = self.assertDescribed(self.admin("GET", f"/admin/teams/{team_id}"), 200)["data"]
        self.assertIsNotNone(detail["team"]["pastorLetter"])
        self.assertDescribed(self.admin("GET", f"/admin/players/{team_id}-P01"), 200)
        self.assertDescribed(self.admin("GET", f"/admin/players/{team_id}-P99"), 404, "PLAYER_NOT_FOUND")
        self.assertDescribed(self.admin("GET", "/admin/teams/ICCT-99999"), 404, "TEAM_NOT_FOUND")
        for url in (detail["team"]["pastorLetter"], detail["team"]["groupPhoto"], detail["team"]["paymentReceipt"],
                    detail["team"]["pastorLetter"] + "?inline=1"):
            self.assertDescribed(self.admin("GET", url), 200)
        self.assertDescribed(self.admin("GET", f"/admin/teams/{team_id}/files/nothing"), 404, "NOT_FOUND")
        csv = self.admin("GET", "/admin/export.csv")
        self.assertDescribed(csv, 200)
        self.assertIn(team_id.encode(), csv.body)
        self.assertDescribed(self.admin("GET", "/admin/audit?limit=10"), 200)
        self.assertDescribed(self.admin("GET", "/admin/outbox?status=dead"), 200)
        self.assertDescribed(self.admin("GET", "/admin/outbox?status=lost"), 400, "VALIDATION_FAILED")
        self.assertDescribed(self.admin("POST", "/admin/outbox/999999/retry"), 404, "NOT_FOUND")

    def test_admin_status_changes(self):
        team_id = self.assertDescribed(register(self.server), 201)["team_id"]
        self.assertFalse(self.assertDescribed(self.admin("PUT", f"/admin/teams/{team_id}/confirm"), 200)[
            "alreadyConfirmed"])
        self.assertTrue(self.assertDescribed(self.admin("PUT", f"/admin/teams/{team_id}/confirm"), 200)[
            "alreadyConfirmed"])
        rejected = self.assertDescribed(self.admin("PUT", f"/admin/teams/{team_id}/reject", {"reason": "late"}), 200)
        self.assertEqual(rejected["reason"], "late")
        self.assertDescribed(self.admin("PUT", f"/admin/teams/{team_id}/reject", b"[1]"), 400, "VALIDATION_FAILED")
        self.assertDescribed(self.admin("PUT", "/admin/teams/ICCT-99999/confirm"), 404, "TEAM_NOT_FOUND")
        audit = self.assertDescribed(self.admin("GET", "/admin/audit"), 200)
        self.assertTrue(any(e["subject"] == team_id for e in audit["data"]), audit)

    def test_sequence_routes(self):
        self.assertDescribed(register(self.server), 201)
        current = self.assertDescribed(self.admin("GET", "/admin/sequence/current"), 200)
        highest = current["highest_issued"]
        self.assertGreaterEqual(highest, 1)
        self.assertDescribed(self.admin("POST", "/admin/sequence/reset?new_number=-1"), 400, "VALIDATION_FAILED")
        self.assertDescribed(self.admin("POST", "/admin/sequence/reset"), 400, "VALIDATION_FAILED")
        self.assertDescribed(self.admin("POST", f"/admin/sequence/reset?new_number={highest - 1}"), 409,
                             "SEQUENCE_BELOW_ISSUED")
        reset = self.assertDescribed(self.admin("POST", f"/admin/sequence/reset?new_number={highest}"), 200)
        self.assertEqual(reset["next_team_id"], h.format_team_id(highest + 1))
        synced = self.assertDescribed(self.admin("POST", "/admin/sequence/sync"), 200)
        self.assertFalse(synced["changed"])

    def test_tokens_users_and_sessions(self):
        n = h.unique_number()
        token_name, admin_name, viewer_name = f"oa-token-{n}", f"oa-admin-{n}", f"oa-viewer-{n}"
        created = self.assertDescribed(self.admin("POST", "/admin/tokens", {"name": token_name}), 201)
        self.assertDescribed(self.admin("POST", "/admin/tokens", {"name": token_name}), 400, "VALIDATION_FAILED")
        self.assertDescribed(self.admin("GET", "/admin/tokens"), 200)
        self.assertDescribed(admin_request(self.server, "GET", "/admin/sequence/current", created["token"]), 200)
        self.assertDescribed(self.admin("DELETE", f"/admin/tokens/{token_name}"), 200)
        self.assertDescribed(self.admin("DELETE", f"/admin/tokens/{token_name}"), 404, "NOT_FOUND")
        self.assertDescribed(self.admin("POST", "/admin/users", {"name": admin_name, "password": PASSWORD}), 201)
        self.assertDescribed(self.admin("POST", "/admin/users",
                                        {"name": viewer_name, "password": PASSWORD, "role": "viewer"}), 201)
        self.assertDescribed(self.admin("POST", "/admin/users", {"name": "short-pw", "password": "x"}), 400,
                             "VALIDATION_FAILED")
        self.assertDescribed(self.admin("GET", "/admin/users"), 200)
        self.assertDescribed(self.admin("POST", f"/admin/users/{admin_name}/password", {"password": PASSWORD + "!"}),
                             200)

        own = self.own_origin()
        login = admin_request(self.server, "POST", "/admin/session", None,
                              body={"username": viewer_name, "password": PASSWORD}, headers={"Origin": own})
        self.assertDescribed(login, 200)
        session = re.match(r"teamreg_session=([0-9a-f]+);", login.header("Set-Cookie")).group(1)
        self.assertDescribed(self.cookie_request("GET", "/admin/session", session, own), 200)
        self.assertDescribed(self.cookie_request("GET", "/admin/teams", session, own), 200)
        self.assertDescribed(self.cookie_request("POST", "/admin/sequence/sync", session, own), 403, "FORBIDDEN")
        self.assertDescribed(self.cookie_request("GET", "/admin/users", session, own), 403, "FORBIDDEN")
        self.assertDescribed(self.cookie_request("POST", "/admin/sequence/sync", session, "http://evil.example"),
                             403, "CSRF_REJECTED")
        self.assertDescribed(self.cookie_request("DELETE", "/admin/session", session, own), 200)
        self.assertDescribed(self.cookie_request("GET", "/admin/session", session, own), 401, "UNAUTHORIZED")
        self.assertDescribed(self.cookie_request("GET", "/admin/teams", session, own), 401, "UNAUTHORIZED")
        wrong = admin_request(self.server, "POST", "/admin/session", None,
                              body={"username": viewer_name, "password": "not the password"}, headers={"Origin": own})
        self.assertDescribed(wrong, 401, "UNAUTHORIZED")
        cross = admin_request(self.server, "POST", "/admin/session", None,
                              body={"username": viewer_name, "password": PASSWORD},
                              headers={"Origin": "http://evil.example"})
        self.assertDescribed(cross, 403, "CSRF_REJECTED")
        self.assertDescribed(self.admin("POST", f"/admin/users/{viewer_name}/disable"), 200)
        self.assertDescribed(self.admin("POST", f"/admin/users/{viewer_name}/disable"), 404, "NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
