"""Users and API tokens managed over HTTP (issue 11: the console's "Users and tokens" page): GET/POST
/admin/tokens, DELETE /admin/tokens/{name}, GET/POST /admin/users, POST /admin/users/{name}/disable and
/password. Admin role only (a token, or an admin session), reads included; every change audited under the
actor; a new token shown once and never stored or logged in clear."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import admin_request, create_admin_token  # noqa: E402
from test_sessions import (EVIL, PASSWORD, VIEWER_PASSWORD, SessionCase, create_user, login,  # noqa: E402
                           with_cookie)

TOKEN = re.compile(r"^[0-9a-f]{64}$")


class AccessCase(SessionCase):
    def created(self, resp: h.Response) -> dict:
        self.assertEqual(resp.status, 201, resp.describe())
        body = resp.json
        self.assertIs(body.get("success"), True, resp.describe())
        self.assertEqual(resp.header("Cache-Control"), "no-store", resp.describe())
        return body

    def audit_actions(self, server: h.Server, token: str) -> list[tuple]:
        body = self.ok(admin_request(server, "GET", "/admin/audit?limit=1000", token))
        return [(e["actor"], e["action"], e["subject"]) for e in body["data"]]


class Tokens(AccessCase):
    def test_create_list_use_and_revoke_a_token_over_http(self):
        server = self.session_server()
        root = create_admin_token(server, "root")
        body = self.created(admin_request(server, "POST", "/admin/tokens", root, body={"name": "deploy-bot"}))
        self.assertEqual(body["name"], "deploy-bot")
        new_token = body["token"]
        self.assertRegex(new_token, TOKEN)
        # The new token works at once, and is never shown again.
        self.ok(admin_request(server, "GET", "/admin/sequence/current", new_token))
        listing = self.ok(admin_request(server, "GET", "/admin/tokens", root))
        names = {t["name"]: t for t in listing["data"]}
        self.assertEqual(set(names), {"root", "deploy-bot"})
        self.assertIs(names["deploy-bot"]["active"], True)
        self.assertIsNotNone(names["deploy-bot"]["last_used_at"])
        self.assertIsNone(names["deploy-bot"]["revoked_at"])
        self.assertNotIn(new_token, str(listing))
        for t in listing["data"]:
            self.assertEqual(set(t), {"name", "active", "created_at", "last_used_at", "revoked_at"})
        # Revoked: 401 from then on; the name stays taken.
        revoked = self.ok(admin_request(server, "DELETE", "/admin/tokens/deploy-bot", root))
        self.assertEqual(revoked, {"success": True, "name": "deploy-bot", "revoked": True})
        self.assertError(admin_request(server, "GET", "/admin/sequence/current", new_token), 401, "UNAUTHORIZED")
        self.assertError(admin_request(server, "DELETE", "/admin/tokens/deploy-bot", root), 404, "NOT_FOUND")
        self.assertError(admin_request(server, "POST", "/admin/tokens", root, body={"name": "deploy-bot"}), 400,
                         "VALIDATION_FAILED", "name")
        listing = self.ok(admin_request(server, "GET", "/admin/tokens", root))
        gone = next(t for t in listing["data"] if t["name"] == "deploy-bot")
        self.assertIs(gone["active"], False)
        self.assertIsNotNone(gone["revoked_at"])
        actions = self.audit_actions(server, root)
        self.assertIn(("root", "token.create", "deploy-bot"), actions)
        self.assertIn(("root", "token.revoke", "deploy-bot"), actions)
        server.stop()
        self.assertNotIn(new_token, server.stderr_text(whole=True))

    def test_bad_token_requests_name_the_field_and_store_nothing(self):
        server = self.session_server()
        root = create_admin_token(server, "root")
        create_user(server, "alice")
        cases = {
            "no body": (None, "body"),
            "not json": (b"name=x", "body"),
            "an array": ([], "body"),
            "name missing": ({}, "name"),
            "name not a string": ({"name": 7}, "name"),
            "reserved name": ({"name": "env"}, "name"),
            "bad characters": ({"name": "a b"}, "name"),
            "too long": ({"name": "x" * 65}, "name"),
            "a user's name": ({"name": "alice"}, "name"),
            "control character": ({"name": "bot\u0000x"}, "name"),
        }
        for label, (body, field) in cases.items():
            with self.subTest(label):
                self.assertError(admin_request(server, "POST", "/admin/tokens", root, body=body), 400,
                                 "VALIDATION_FAILED", field)
        listing = self.ok(admin_request(server, "GET", "/admin/tokens", root))
        self.assertEqual([t["name"] for t in listing["data"]], ["root"])
        # A name no token can have is simply not found, whatever it decodes to.
        for path in ("/admin/tokens/root%00x", "/admin/tokens/no-such", "/admin/tokens/a%20b"):
            with self.subTest(path):
                self.assertError(admin_request(server, "DELETE", path, root), 404, "NOT_FOUND")
        self.ok(admin_request(server, "GET", "/admin/sequence/current", root))

    def test_without_credentials_every_access_route_is_401(self):
        server = self.session_server()
        routes = [("GET", "/admin/tokens"), ("POST", "/admin/tokens"), ("DELETE", "/admin/tokens/x"),
                  ("GET", "/admin/users"), ("POST", "/admin/users"), ("POST", "/admin/users/x/disable"),
                  ("POST", "/admin/users/x/password")]
        for method, path in routes:
            with self.subTest(f"{method} {path}"):
                resp = admin_request(server, method, path, None, body={"name": "x", "password": PASSWORD})
                self.assertError(resp, 401, "UNAUTHORIZED")
                self.assertEqual(resp.header("Cache-Control"), "no-store")
                resp = admin_request(server, method, path, "f" * 64, body={"name": "x", "password": PASSWORD})
                self.assertError(resp, 401, "UNAUTHORIZED")


class Users(AccessCase):
    def test_an_admin_session_creates_a_user_who_can_log_in(self):
        server = self.session_server()
        create_user(server, "alice")
        admin = self.logged_in(server, "alice")
        body = self.created(with_cookie(server, "POST", "/admin/users", admin,
                                        body={"name": "bob", "role": "viewer", "password": VIEWER_PASSWORD}))
        self.assertEqual(body["user"], {"name": "bob", "role": "viewer"})
        bob = self.logged_in(server, "bob", VIEWER_PASSWORD)
        me = self.ok(with_cookie(server, "GET", "/admin/session", bob))
        self.assertEqual(me["user"], {"name": "bob", "role": "viewer"})
        # Role defaults to admin, as on the command line.
        body = self.created(with_cookie(server, "POST", "/admin/users", admin,
                                        body={"name": "carol", "password": PASSWORD}))
        self.assertEqual(body["user"]["role"], "admin")
        listing = self.ok(with_cookie(server, "GET", "/admin/users", admin))
        users = {u["name"]: u for u in listing["data"]}
        self.assertEqual(set(users), {"alice", "bob", "carol"})
        self.assertEqual(users["bob"]["role"], "viewer")
        self.assertIs(users["bob"]["active"], True)
        self.assertIsNotNone(users["bob"]["last_seen_at"])
        for u in listing["data"]:
            self.assertEqual(set(u), {"name", "role", "active", "created_at", "password_changed_at", "last_seen_at",
                                      "disabled_at"})
            self.assertNotIn("argon2", str(u))
        audit = [(e["actor"], e["action"], e["subject"]) for e in self.audit(server, admin)]
        self.assertIn(("alice", "user.create", "bob"), audit)
        self.assertIn(("alice", "user.create", "carol"), audit)
        server.stop()
        log = server.stderr_text(whole=True)
        self.assertNotIn(VIEWER_PASSWORD, log)
        self.assertNotIn(PASSWORD, log)

    def test_bad_user_requests_name_the_field_and_store_nothing(self):
        server = self.session_server()
        root = create_admin_token(server, "root")
        create_user(server, "alice")
        cases = {
            "password missing": ({"name": "bob"}, "password"),
            "name missing": ({"password": PASSWORD}, "name"),
            "short password": ({"name": "bob", "password": "short"}, "password"),
            "unknown role": ({"name": "bob", "password": PASSWORD, "role": "owner"}, "role"),
            "role not a string": ({"name": "bob", "password": PASSWORD, "role": 1}, "role"),
            "taken by a user": ({"name": "alice", "password": PASSWORD}, "name"),
            "taken by a token": ({"name": "root", "password": PASSWORD}, "name"),
            "reserved": ({"name": "cli", "password": PASSWORD}, "name"),
        }
        for label, (body, field) in cases.items():
            with self.subTest(label):
                self.assertError(admin_request(server, "POST", "/admin/users", root, body=body), 400,
                                 "VALIDATION_FAILED", field)
        listing = self.ok(admin_request(server, "GET", "/admin/users", root))
        self.assertEqual([u["name"] for u in listing["data"]], ["alice"])

    def test_disable_and_new_password_end_that_users_sessions(self):
        server = self.session_server()
        create_user(server, "alice")
        create_user(server, "bob")
        create_user(server, "dora")
        admin = self.logged_in(server, "alice")
        bob = self.logged_in(server, "bob")
        dora = self.logged_in(server, "dora")
        new_password = "a brand new passphrase"
        body = self.ok(with_cookie(server, "POST", "/admin/users/bob/password", admin,
                                   body={"password": new_password}))
        self.assertEqual(body, {"success": True, "name": "bob", "sessions_ended": True})
        self.assertError(with_cookie(server, "GET", "/admin/session", bob), 401, "UNAUTHORIZED")
        self.assertError(login(server, "bob", PASSWORD), 401, "UNAUTHORIZED")
        self.logged_in(server, "bob", new_password)
        self.assertError(with_cookie(server, "POST", "/admin/users/bob/password", admin, body={"password": "short"}),
                         400, "VALIDATION_FAILED", "password")

        body = self.ok(with_cookie(server, "POST", "/admin/users/dora/disable", admin))
        self.assertEqual(body, {"success": True, "name": "dora", "disabled": True})
        self.assertError(with_cookie(server, "GET", "/admin/teams", dora), 401, "UNAUTHORIZED")
        self.assertError(login(server, "dora", PASSWORD), 401, "UNAUTHORIZED")
        self.assertError(with_cookie(server, "POST", "/admin/users/dora/disable", admin), 404, "NOT_FOUND")
        self.assertError(with_cookie(server, "POST", "/admin/users/dora/password", admin, body={"password": PASSWORD}),
                         404, "NOT_FOUND")
        self.assertError(with_cookie(server, "POST", "/admin/users/nobody/disable", admin), 404, "NOT_FOUND")
        self.assertError(with_cookie(server, "POST", "/admin/users/al%00ice/disable", admin), 404, "NOT_FOUND")
        # Nobody locks themselves out of the console by a click.
        self.assertError(with_cookie(server, "POST", "/admin/users/alice/disable", admin), 400, "VALIDATION_FAILED",
                         "name")
        self.ok(with_cookie(server, "GET", "/admin/session", admin))
        audit = [(e["actor"], e["action"], e["subject"]) for e in self.audit(server, admin)]
        self.assertIn(("alice", "user.password", "bob"), audit)
        self.assertIn(("alice", "user.disable", "dora"), audit)
        self.assertNotIn(("alice", "user.disable", "alice"), audit)


class Roles(AccessCase):
    def test_a_viewer_can_neither_see_nor_change_users_and_tokens(self):
        server = self.session_server()
        root = create_admin_token(server, "root")
        create_user(server, "alice")
        create_user(server, "vera", VIEWER_PASSWORD, role="viewer")
        viewer = self.logged_in(server, "vera", VIEWER_PASSWORD)
        attempts = [("GET", "/admin/tokens", None), ("GET", "/admin/users", None),
                    ("POST", "/admin/tokens", {"name": "sneaky"}),
                    ("DELETE", "/admin/tokens/root", None),
                    ("POST", "/admin/users", {"name": "mallory", "password": PASSWORD}),
                    ("POST", "/admin/users/alice/disable", None),
                    ("POST", "/admin/users/alice/password", {"password": "taken over by vera"}),
                    ("POST", "/admin/users/vera/password", {"password": "vera changes her own"})]
        for method, path, body in attempts:
            with self.subTest(f"{method} {path}"):
                resp = with_cookie(server, method, path, viewer, body=body)
                self.assertError(resp, 403, "FORBIDDEN")
        # The viewer still reads what viewers read, and nothing changed.
        self.ok(with_cookie(server, "GET", "/admin/teams", viewer))
        self.ok(with_cookie(server, "GET", "/admin/session", viewer))
        self.assertEqual([t["name"] for t in self.ok(admin_request(server, "GET", "/admin/tokens", root))["data"]],
                         ["root"])
        users = self.ok(admin_request(server, "GET", "/admin/users", root))["data"]
        self.assertEqual(sorted(u["name"] for u in users), ["alice", "vera"])
        self.assertTrue(all(u["active"] for u in users))
        self.logged_in(server, "alice")
        self.ok(admin_request(server, "GET", "/admin/sequence/current", root))

    def test_cross_site_changes_with_an_admin_cookie_are_refused(self):
        server = self.session_server()
        create_user(server, "alice")
        create_user(server, "bob")
        admin = self.logged_in(server, "alice")
        attempts = [("POST", "/admin/tokens", {"name": "planted"}),
                    ("POST", "/admin/users", {"name": "mallory", "password": PASSWORD}),
                    ("POST", "/admin/users/bob/disable", None),
                    ("POST", "/admin/users/bob/password", {"password": "mallory knows this"})]
        for method, path, body in attempts:
            for origin in (EVIL, None):
                with self.subTest(f"{method} {path} origin={origin}"):
                    resp = with_cookie(server, method, path, admin, origin=origin, body=body)
                    self.assertError(resp, 403, "CSRF_REJECTED")
        self.assertEqual(self.ok(with_cookie(server, "GET", "/admin/tokens", admin))["data"], [])
        self.assertEqual(sorted(u["name"] for u in self.ok(with_cookie(server, "GET", "/admin/users", admin))["data"]),
                         ["alice", "bob"])
        self.logged_in(server, "bob")


if __name__ == "__main__":
    unittest.main()
