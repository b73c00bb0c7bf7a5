"""Console accounts and cookie sessions (issue 11): `teamreg admin user …` through the real CLI, POST/GET/DELETE
/admin/session, the session cookie on the admin API with its CSRF rule and roles, the idle timeout, and the
failure limit shared with bearer tokens, over real HTTP."""

import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, admin_request, create_admin_token, register  # noqa: E402

PASSWORD = "correct horse battery staple"
VIEWER_PASSWORD = "viewer passphrase 42"
LOGIN_FAILED = "Wrong user name or password"
EVIL = "http://evil.example"
SESSION_ID = re.compile(r"^[0-9a-f]{64}$")


def user_cli(server: h.Server, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    """`teamreg admin user <args>` against the server's database, the password (if any) on stdin."""
    argv = [h.teamreg_bin(), "admin", "user", *args, *h.db_args(server)]
    if password is not None:
        argv.append("--password-stdin")
    return subprocess.run(argv, input="" if password is None else password + "\n", capture_output=True, text=True,
                          env=h.server_environment(None), timeout=120)


def create_user(server: h.Server, name: str, password: str = PASSWORD, role: str | None = None) -> None:
    args = ["create", "--name", name] + (["--role", role] if role else [])
    result = user_cli(server, *args, password=password)
    if result.returncode != 0:
        raise AssertionError(f"admin user create exited {result.returncode}: {result.stderr[-2000:]}")


def own_origin(server: h.Server, scheme: str = "http") -> str:
    return f"{scheme}://{server.host}:{server.port}"


def login(server: h.Server, username: str, password: str, headers: dict | None = None) -> h.Response:
    """POST /admin/session as the console does (same-origin Origin unless headers say otherwise)."""
    hdrs = {"Origin": own_origin(server)}
    hdrs.update(headers or {})
    return admin_request(server, "POST", "/admin/session", None, body={"username": username, "password": password},
                         headers=hdrs)


def set_cookies(resp: h.Response) -> list[str]:
    if resp.headers is None:
        return []
    return resp.headers.get_all("Set-Cookie") or []


def cookie_of(resp: h.Response) -> str:
    """The session id from a login's Set-Cookie."""
    cookies = set_cookies(resp)
    if len(cookies) != 1:
        raise AssertionError(f"expected one Set-Cookie: {resp.describe()}")
    match = re.match(r"teamreg_session=([^;]*);", cookies[0])
    if not match:
        raise AssertionError(f"no teamreg_session cookie: {cookies[0]!r}")
    return match.group(1)


def with_cookie(server: h.Server, method: str, path: str, session: str, origin: str | None = "own",
                headers: dict | None = None, body=None) -> h.Response:
    """A request carrying the session cookie and, unless origin is None, an Origin header (own by default)."""
    hdrs = {"Cookie": f"teamreg_session={session}",
            "Origin": own_origin(server) if origin == "own" else origin}
    hdrs.update(headers or {})
    return admin_request(server, method, path, None, body=body, headers=hdrs)


class SessionCase(E2ETestCase):
    def session_server(self, *args: str, **kw) -> h.Server:
        """A server without a failure limit unless args set one."""
        if "--admin-failure-limit" not in args:
            args = args + ("--admin-failure-limit", "0")
        return self.start_server(*args, **kw)

    def ok(self, resp: h.Response) -> dict:
        self.assertEqual(resp.status, 200, resp.describe())
        body = resp.json
        self.assertIsInstance(body, dict, resp.describe())
        self.assertIs(body.get("success"), True, resp.describe())
        return body

    def logged_in(self, server: h.Server, name: str, password: str = PASSWORD, **kw) -> str:
        resp = login(server, name, password, **kw)
        self.ok(resp)
        session = cookie_of(resp)
        self.assertRegex(session, SESSION_ID)
        return session

    def assertLoginFailed(self, resp: h.Response, status: int = 401) -> None:
        body = self.assertError(resp, status, "UNAUTHORIZED" if status == 401 else "RATE_LIMITED")
        if status == 401:
            self.assertEqual(body["message"], LOGIN_FAILED, resp.describe())
        self.assertEqual(set_cookies(resp), [], resp.describe())

    def audit(self, server: h.Server, session: str) -> list[dict]:
        return self.ok(with_cookie(server, "GET", "/admin/audit?limit=1000", session))["data"]


class Login(SessionCase):
    def test_wrong_password_unknown_user_and_bad_bodies_get_one_generic_401(self):
        server = self.session_server()
        create_user(server, "alice")
        create_user(server, "dora")
        self.assertEqual(user_cli(server, "disable", "--name", "dora").returncode, 0)
        attempts = {
            "wrong password": {"username": "alice", "password": "correct horse battery stapl"},
            "unknown user": {"username": "mallory", "password": PASSWORD},
            "disabled user, right password": {"username": "dora", "password": PASSWORD},
            "name in another case": {"username": "Alice", "password": PASSWORD},
            "empty password": {"username": "alice", "password": ""},
            "password not a string": {"username": "alice", "password": 12345678901234},
            "no username": {"password": PASSWORD},
        }
        for label, body in attempts.items():
            with self.subTest(label):
                resp = admin_request(server, "POST", "/admin/session", None, body=body,
                                     headers={"Origin": own_origin(server)})
                self.assertLoginFailed(resp)
        for label, raw in {"not json": b"username=alice", "json array": b"[]", "empty": b""}.items():
            with self.subTest(label):
                resp = h.request(server, "POST", "/admin/session", body=raw,
                                 headers={"Origin": own_origin(server), "Content-Type": "application/json"})
                self.assertLoginFailed(resp)
        self.assertError(h.get(server, "/admin/session"), 401, "UNAUTHORIZED")

    def test_a_right_password_sets_a_strict_http_only_session_cookie(self):
        server = self.session_server()
        create_user(server, "alice")
        resp = login(server, "alice", PASSWORD)
        body = self.ok(resp)
        self.assertEqual(body, {"success": True, "user": {"name": "alice", "role": "admin"}, "expires_in": 28800})
        self.assertEqual(resp.header("Cache-Control"), "no-store")
        cookie = set_cookies(resp)[0]
        attributes = [a.strip() for a in cookie.split(";")]
        self.assertRegex(attributes[0], r"^teamreg_session=[0-9a-f]{64}$")
        self.assertEqual(sorted(a.lower() for a in attributes[1:]), ["httponly", "path=/", "samesite=strict"], cookie)
        self.assertNotIn("Secure", cookie, "plain http: a Secure cookie would never be sent back")
        session = cookie_of(resp)

        who = self.ok(with_cookie(server, "GET", "/admin/session", session))
        self.assertEqual(who["user"], {"name": "alice", "role": "admin"})
        self.assertEqual(who["expires_in"], 28800)
        teams = self.ok(with_cookie(server, "GET", "/admin/teams", session, origin=None))
        self.assertEqual(teams["total"], 0)
        # Only the SHA-256 of the id is stored.
        rows = server.backend().rows("SELECT id_hash FROM admin_sessions")
        import hashlib
        self.assertEqual([r[0] for r in rows], [hashlib.sha256(session.encode()).hexdigest()])
        # A login from a foreign page is refused (login CSRF); a script without Origin is not.
        self.assertError(login(server, "alice", PASSWORD, headers={"Origin": EVIL}), 403, "CSRF_REJECTED")
        self.ok(login(server, "alice", PASSWORD, headers={"Origin": None}))

    def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(self):
        server = self.session_server("--trusted-proxies", "127.0.0.1/32")
        create_user(server, "alice")
        https = {"X-Forwarded-Proto": "https", "Origin": own_origin(server, "https")}
        resp = login(server, "alice", PASSWORD, headers=https)
        self.ok(resp)
        cookie = set_cookies(resp)[0]
        self.assertIn("; Secure", cookie)
        self.assertIn("HttpOnly", cookie)
        session = cookie_of(resp)
        self.assertCreated(register(server), "ICCT-001")
        # Same-origin now means https://: the http origin of the same host is another origin.
        wrong_scheme = with_cookie(server, "PUT", "/admin/teams/ICCT-001/confirm", session,
                                   origin=own_origin(server), headers={"X-Forwarded-Proto": "https"})
        self.assertError(wrong_scheme, 403, "CSRF_REJECTED")
        self.ok(with_cookie(server, "PUT", "/admin/teams/ICCT-001/confirm", session, origin=None, headers=https))
        logout = with_cookie(server, "DELETE", "/admin/session", session, origin=None, headers=https)
        self.ok(logout)
        self.assertIn("Max-Age=0", set_cookies(logout)[0])
        self.assertIn("; Secure", set_cookies(logout)[0])

        # An untrusted peer cannot make the cookie Secure (or anything else) by saying https.
        plain = self.session_server()
        create_user(plain, "alice")
        resp = login(plain, "alice", PASSWORD, headers={"X-Forwarded-Proto": "https"})
        self.ok(resp)
        self.assertNotIn("Secure", set_cookies(resp)[0])


class CookieRequests(SessionCase):
    def test_changes_need_our_own_origin_and_are_audited_with_the_user(self):
        server = self.session_server()
        create_user(server, "alice")
        session = self.logged_in(server, "alice")
        for _ in range(4):
            self.assertCreated(register(server))

        self.ok(with_cookie(server, "PUT", "/admin/teams/ICCT-001/confirm", session))
        entry = self.audit(server, session)[0]
        self.assertEqual((entry["action"], entry["subject"], entry["actor"]), ("team.confirm", "ICCT-001", "alice"))

        refusals = {
            "foreign Origin": {"Origin": EVIL},
            "foreign Origin, own Referer": {"Origin": EVIL, "Referer": own_origin(server) + "/admin/"},
            "Origin null": {"Origin": "null"},
            "another port": {"Origin": f"http://{server.host}:{server.port + 1}"},
            "neither Origin nor Referer": {"Origin": None},
            "foreign Referer": {"Origin": None, "Referer": EVIL + "/admin/"},
            "Referer that only starts like ours": {"Origin": None, "Referer": own_origin(server) + "0/admin/"},
        }
        for label, headers in refusals.items():
            with self.subTest(label):
                hdrs = {"Cookie": f"teamreg_session={session}", **headers}
                self.assertError(admin_request(server, "PUT", "/admin/teams/ICCT-002/confirm", None, headers=hdrs),
                                 403, "CSRF_REJECTED")
                self.assertError(admin_request(server, "PUT", "/admin/teams/ICCT-002/reject", None,
                                               body={"reason": "x"}, headers=hdrs), 403, "CSRF_REJECTED")
                self.assertError(admin_request(server, "POST", "/admin/sequence/reset?new_number=50", None,
                                               headers=hdrs), 403, "CSRF_REJECTED")
        self.assertEqual(server.backend().team("ICCT-002")["status"], "pending")
        self.assertEqual(server.backend().sequence()["last_number"], 4)
        self.assertEqual([e["action"] for e in self.audit(server, session)], ["team.confirm", "user.create"])

        # A same-origin Referer stands in for a missing Origin.
        self.ok(with_cookie(server, "PUT", "/admin/teams/ICCT-002/confirm", session, origin=None,
                            headers={"Referer": own_origin(server) + "/admin/#teams"}))
        self.assertEqual(server.backend().team("ICCT-002")["status"], "confirmed")
        body = self.ok(with_cookie(server, "POST", "/admin/sequence/reset?new_number=10", session))
        self.assertEqual(body["next_team_id"], "ICCT-011")
        actors = {(e["action"], e["actor"]) for e in self.audit(server, session)}
        self.assertLessEqual({("team.confirm", "alice"), ("sequence.reset", "alice")}, actors)
        # Reads need no Origin at all.
        self.ok(with_cookie(server, "GET", "/admin/teams/ICCT-003", session, origin=EVIL))

    def test_a_viewer_reads_everything_and_changes_nothing(self):
        server = self.session_server()
        create_user(server, "vera", VIEWER_PASSWORD, role="viewer")
        self.assertCreated(register(server), "ICCT-001")
        session = self.logged_in(server, "vera", VIEWER_PASSWORD)
        self.assertEqual(self.ok(with_cookie(server, "GET", "/admin/session", session))["user"],
                         {"name": "vera", "role": "viewer"})
        for path in ("/admin/teams", "/admin/teams/ICCT-001", "/admin/players/ICCT-001-P01",
                     "/admin/teams/ICCT-001/files/pastor_letter", "/admin/sequence/current", "/admin/audit",
                     "/admin/outbox", "/admin/export.csv"):
            with self.subTest(path):
                resp = with_cookie(server, "GET", path, session)
                self.assertEqual(resp.status, 200, resp.describe())
        for method, path in (("PUT", "/admin/teams/ICCT-001/confirm"), ("PUT", "/admin/teams/ICCT-001/reject"),
                             ("POST", "/admin/sequence/reset?new_number=5"), ("POST", "/admin/sequence/sync"),
                             ("POST", "/admin/outbox/1/retry")):
            with self.subTest(f"{method} {path}"):
                self.assertError(with_cookie(server, method, path, session), 403, "FORBIDDEN")
        self.assertEqual(server.backend().team("ICCT-001")["status"], "pending")
        self.assertEqual(server.backend().sequence()["last_number"], 1)
        self.assertEqual([e["action"] for e in self.audit(server, session)], ["user.create"])

    def test_a_bearer_token_is_checked_as_before_even_beside_a_cookie(self):
        server = self.session_server()
        create_user(server, "vera", VIEWER_PASSWORD, role="viewer")
        token = create_admin_token(server, "deploy-bot")
        self.assertCreated(register(server), "ICCT-001")
        session = self.logged_in(server, "vera", VIEWER_PASSWORD)
        # The token decides: a change from anywhere, by the token, whatever the cookie's role.
        both = admin_request(server, "PUT", "/admin/teams/ICCT-001/confirm", token,
                             headers={"Cookie": f"teamreg_session={session}", "Origin": EVIL})
        self.ok(both)
        self.assertEqual(self.audit(server, session)[0]["actor"], "deploy-bot")
        # A wrong token is not rescued by a good cookie.
        wrong = admin_request(server, "GET", "/admin/teams", "0" * 64, headers={"Cookie": f"teamreg_session={session}"})
        self.assertError(wrong, 401, "UNAUTHORIZED")
        # No credentials at all: the old answer.
        none = admin_request(server, "GET", "/admin/teams", None)
        self.assertEqual(self.assertError(none, 401, "UNAUTHORIZED")["message"], "A valid admin token is required")
        self.assertIn("Bearer", none.header("WWW-Authenticate") or "")


class SessionEnd(SessionCase):
    def test_logout_ends_the_session_and_clears_the_cookie(self):
        server = self.session_server()
        create_user(server, "alice")
        session = self.logged_in(server, "alice")
        other = self.logged_in(server, "alice")
        # A foreign page cannot log the user out.
        self.assertError(with_cookie(server, "DELETE", "/admin/session", session, origin=EVIL), 403, "CSRF_REJECTED")
        self.ok(with_cookie(server, "GET", "/admin/teams", session))
        resp = with_cookie(server, "DELETE", "/admin/session", session)
        self.ok(resp)
        cleared = set_cookies(resp)
        self.assertEqual(len(cleared), 1, resp.describe())
        self.assertTrue(cleared[0].startswith("teamreg_session=;"), cleared)
        self.assertIn("Max-Age=0", cleared[0])
        self.assertError(with_cookie(server, "GET", "/admin/teams", session), 401, "UNAUTHORIZED")
        self.assertError(with_cookie(server, "GET", "/admin/session", session), 401, "UNAUTHORIZED")
        self.assertError(with_cookie(server, "PUT", "/admin/teams/ICCT-001/confirm", session), 401, "UNAUTHORIZED")
        # Logging out again (or without a session) still just clears the cookie.
        self.ok(with_cookie(server, "DELETE", "/admin/session", session))
        self.ok(h.request(server, "DELETE", "/admin/session"))
        self.ok(with_cookie(server, "GET", "/admin/teams", other))

    def test_an_idle_session_ends_after_the_timeout(self):
        server = self.session_server("--session-idle-timeout", "2")
        create_user(server, "alice")
        resp = login(server, "alice", PASSWORD)
        self.assertEqual(self.ok(resp)["expires_in"], 2)
        session = cookie_of(resp)
        self.ok(with_cookie(server, "GET", "/admin/teams", session))
        time.sleep(3)
        self.assertError(with_cookie(server, "GET", "/admin/teams", session), 401, "UNAUTHORIZED")
        self.assertError(with_cookie(server, "GET", "/admin/session", session), 401, "UNAUTHORIZED")
        self.ok(with_cookie(server, "GET", "/admin/teams", self.logged_in(server, "alice")))

    def test_disabling_a_user_or_changing_its_password_ends_its_sessions(self):
        server = self.session_server()
        create_user(server, "alice")
        create_user(server, "bob")
        alice = self.logged_in(server, "alice")
        bob = self.logged_in(server, "bob")
        result = user_cli(server, "disable", "--name", "alice")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertError(with_cookie(server, "GET", "/admin/teams", alice), 401, "UNAUTHORIZED")
        self.assertLoginFailed(login(server, "alice", PASSWORD))
        self.ok(with_cookie(server, "GET", "/admin/teams", bob))

        result = user_cli(server, "set-password", "--name", "bob", password="a brand new passphrase")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertError(with_cookie(server, "GET", "/admin/teams", bob), 401, "UNAUTHORIZED")
        self.assertLoginFailed(login(server, "bob", PASSWORD))
        self.logged_in(server, "bob", "a brand new passphrase")


class FailureLimit(SessionCase):
    def test_wrong_passwords_reach_the_limit_but_the_right_one_still_logs_in(self):
        server = self.session_server("--admin-failure-limit", "3")
        create_user(server, "alice")
        token = create_admin_token(server, "ops")
        for _ in range(3):
            self.assertLoginFailed(login(server, "alice", "not the password at all"))
        limited = login(server, "alice", "not the password at all")
        self.assertLoginFailed(limited, 429)
        self.assertTrue((limited.header("Retry-After") or "").isdigit(), limited.describe())
        self.assertLoginFailed(login(server, "nobody", PASSWORD), 429)
        # One limit for both kinds of credential: a wrong token from this address is limited too.
        self.assertError(admin_request(server, "GET", "/admin/teams", "1" * 64), 429, "RATE_LIMITED")
        # The right password and a valid token are never locked out.
        session = self.logged_in(server, "alice")
        self.ok(with_cookie(server, "GET", "/admin/teams", session))
        self.ok(admin_request(server, "GET", "/admin/teams", token))
        self.assertLoginFailed(login(server, "alice", "still not the password"), 429)


class Secrets(SessionCase):
    def test_passwords_and_session_ids_never_reach_the_log(self):
        server = self.session_server("--admin-failure-limit", "2")
        create_user(server, "alice")
        wrong = "a wrong but plausible password"
        typed_as_name = "MyS3cretAsAName"
        self.assertLoginFailed(login(server, "alice", wrong))
        self.assertLoginFailed(login(server, typed_as_name, PASSWORD))
        self.assertLoginFailed(login(server, "alice", wrong), 429)
        session = self.logged_in(server, "alice")
        self.ok(with_cookie(server, "GET", "/admin/teams", session))
        self.ok(with_cookie(server, "DELETE", "/admin/session", session))
        server.stop()
        log = server.stderr_text(whole=True)
        self.assertIn("admin login", log)
        self.assertIn("admin logout", log)
        self.assertIn("reason=wrong_password user=alice", log)
        self.assertIn("reason=unknown_user", log)
        for secret in (PASSWORD, wrong, typed_as_name, session, "argon2id"):
            self.assertNotIn(secret, log)
        # The CLI does not print or log the password either.
        result = user_cli(server, "create", "--name", "bob", password="another fine passphrase")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("another fine passphrase", result.stdout + result.stderr)


class UserCli(SessionCase):
    def test_create_list_disable_and_the_naming_rules(self):
        server = self.session_server()
        create_user(server, "alice")
        create_user(server, "vera", role="viewer")
        listed = user_cli(server, "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout, r"alice\s+admin\s+active")
        self.assertRegex(listed.stdout, r"vera\s+viewer\s+active")
        self.assertNotIn("argon2", listed.stdout)
        self.assertNotIn(PASSWORD, listed.stdout)

        create_admin_token(server, "deploy-bot")
        refusals = {
            "a token's name": ("create", "--name", "deploy-bot"),
            "a user's name": ("create", "--name", "alice"),
            "reserved": ("create", "--name", "cli"),
            "bad characters": ("create", "--name", "al ice"),
            "unknown role": ("create", "--name", "carol", "--role", "root"),
        }
        for label, args in refusals.items():
            with self.subTest(label):
                result = user_cli(server, *args, password=PASSWORD)
                self.assertNotEqual(result.returncode, 0, result.stdout)
                self.assertEqual(result.stdout, "")
        short = user_cli(server, "create", "--name", "carol", password="too short")
        self.assertEqual(short.returncode, 1)
        self.assertIn("at least 12 characters", short.stderr)
        self.assertNotIn("too short", short.stderr)
        no_flag = subprocess.run([h.teamreg_bin(), "admin", "user", "create", "--name", "carol", *h.db_args(server)],
                                 input=PASSWORD + "\n", capture_output=True, text=True,
                                 env=h.server_environment(None), timeout=60)
        self.assertNotEqual(no_flag.returncode, 0)
        self.assertIn("--password-stdin", no_flag.stderr)
        token_clash = h.teamreg_cli(server, "admin", "token", "create", "--name", "alice")
        self.assertEqual(token_clash.returncode, 1, token_clash.stdout)
        self.assertEqual(token_clash.stdout, "")

        self.assertEqual(user_cli(server, "disable", "--name", "vera").returncode, 0)
        self.assertRegex(user_cli(server, "list").stdout, r"vera\s+viewer\s+disabled")
        again = user_cli(server, "disable", "--name", "vera")
        self.assertEqual(again.returncode, 1)
        self.assertIn("NOT_FOUND", again.stderr)
        session = self.logged_in(server, "alice")
        entries = [(e["actor"], e["action"], e["subject"]) for e in self.audit(server, session)
                   if e["action"].startswith("user.")]
        self.assertEqual(entries, [("cli", "user.disable", "vera"), ("cli", "user.create", "vera"),
                                   ("cli", "user.create", "alice")])


if __name__ == "__main__":
    unittest.main()
