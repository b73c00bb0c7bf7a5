"""E-mail notifications (issue 6): the outbox, delivery to a real SMTP server (tests/smtp/capture_server.py),
retries, dead mails and the admin retry, several processes and kill -9, templates and escaping.

The capture server needs Debian's python3-aiosmtpd: it runs under TEAMREG_SMTP_PYTHON (default /usr/bin/python3).
Every wait polls with a deadline; the only fixed pauses are the quiet periods that give a duplicate mail the
chance to show up after the expected ones arrived."""

import collections
import datetime
import email
import email.policy
import email.utils
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, admin_request, create_admin_token, register  # noqa: E402

MAIL_DOMAIN = "notify.icct.example.org"
MAIL_FROM = f"registrations@{MAIL_DOMAIN}"
REPLY_TO = "organizers@icct.example.org"
TEMPLATES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "mail-templates")
ROW_KEYS = {"id", "kind", "team_id", "recipient", "cc", "status", "attempts", "next_attempt_at", "last_error",
            "created_at", "sent_at"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
# Quick retries so that failure paths finish in seconds: base 0.3 s doubles per failure, others' mail is
# looked for every 0.2 s.
FAST = {"--mail-retry-base": "0.3", "--mail-poll-interval": "0.2"}
QUIET_S = 1.5  # how long no further mail may arrive once the expected ones did (many poll intervals)
MAIL_TIMEOUT_S = 30
CRASH_MARKERS = ("AddressSanitizer", "runtime error", "terminate called", "Traceback", "Segmentation fault",
                 "core dumped", "Aborted")
# Label values may hold "}" (route="/admin/teams/{team_id}/confirm").
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$')


def message_id(row_id: int) -> str:
    return f"<teamreg.outbox.{row_id}@{MAIL_DOMAIN}>"


def html_escape(text: str) -> str:
    """The escaping of src/notify/text.cpp html_escape."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


def addresses(header: str | None) -> list[str]:
    return [addr for _, addr in email.utils.getaddresses([header or ""]) if addr]


def expected_subject(kind: str, **values: str) -> str:
    """The built-in subject template of kind (mail-templates/KIND.subject.txt) filled in, as one line."""
    with open(os.path.join(TEMPLATES_DIR, f"{kind}.subject.txt"), encoding="utf-8") as f:
        source = f.read()
    filled = re.sub(r"\{\{\s*([a-z_]+)\s*\}\}", lambda m: values[m.group(1)], source)
    assert "{{" not in filled, f"{kind}.subject.txt uses more than plain values; extend expected_subject"
    return " ".join(filled.split())


def parse_metrics(text: str) -> dict:
    """{(name, labels): value} of a Prometheus text page."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


class Team:
    """What a registration form says about the people a team's mails go to and the values they show."""

    def __init__(self, form: h.Form, team_id: str) -> None:
        self.form = form
        self.team_id = team_id
        self.team_name = form.value("team_name").strip()
        self.church_name = form.value("church_name").strip()
        self.captain_name = form.value("captain_name").strip()
        self.captain = form.value("captain_email").strip().lower()
        self.vice = form.value("vice_email").strip().lower()
        self.players = [form.value(f"player_{i}_name").strip() for i in range(form.player_count())]


class MailCase(E2ETestCase):
    # -- servers -------------------------------------------------------------------------------------------

    def capture(self, mode: str | None = None, delay_data: float | None = None,
                running: bool = True) -> h.SmtpCapture:
        """A capture server; running=False starts it once (to own a port) and stops it again."""
        capture = self.start_smtp_capture(mode, delay_data)
        if not running:
            capture.stop()
        return capture

    def mail_args(self, capture: h.SmtpCapture, **overrides) -> list[str]:
        """Flags for sending through capture; overrides like mail_max_attempts=3 become --mail-max-attempts 3
        (None drops a flag)."""
        options = {"--smtp-url": capture.url, "--mail-from": MAIL_FROM, **FAST, "--admin-failure-limit": "0"}
        for key, value in overrides.items():
            options["--" + key.replace("_", "-")] = value
        args: list[str] = []
        for key, value in options.items():
            if value is not None:
                args += [key, str(value)]
        return args

    def mail_server(self, capture: h.SmtpCapture, **overrides) -> tuple[h.Server, str]:
        server = self.start_server(*self.mail_args(capture, **overrides))
        return server, create_admin_token(server)

    def refused_start(self, *args: str) -> "h.subprocess.CompletedProcess":
        """`teamreg serve` with args (plus data dir, listen, database) that must exit by itself, non-zero."""
        server = h.Server(*args, start=False)
        self.addCleanup(server.cleanup)
        result = h.run_cli(*server.command()[1:], timeout=30)
        detail = f"args {args}: exit {result.returncode}, stdout {result.stdout!r}, stderr {result.stderr[-3000:]!r}"
        self.assertGreater(result.returncode, 0, detail)  # negative: killed by a signal (abort, crash)
        self.assertNotIn("listening on", result.stdout, detail)
        for marker in CRASH_MARKERS:
            self.assertNotIn(marker, result.stderr, detail)
        return result

    # -- admin API -------------------------------------------------------------------------------------------

    def ok(self, resp: h.Response, status: int = 200) -> dict:
        self.assertEqual(resp.status, status, resp.describe())
        self.assertCors(resp)
        self.assertRequestId(resp)
        body = resp.json
        self.assertIsInstance(body, dict, resp.describe())
        self.assertIs(body.get("success"), True, resp.describe())
        return body

    def outbox_page(self, server: h.Server, token: str, query: str = "") -> dict:
        body = self.ok(admin_request(server, "GET", "/admin/outbox" + query, token))
        self.assertIsInstance(body.get("data"), list, body)
        self.assertIsInstance(body.get("total"), int, body)
        for row in body["data"]:
            self.assertEqual(set(row), ROW_KEYS, f"outbox row keys (never a body): {row}")
        return body

    def outbox(self, server: h.Server, token: str, status: str | None = None) -> list[dict]:
        """Every outbox row (newest first), page by page."""
        rows: list[dict] = []
        while True:
            query = f"?limit=100&offset={len(rows)}" + (f"&status={status}" if status else "")
            body = self.outbox_page(server, token, query)
            rows += body["data"]
            if not body["data"] or len(rows) >= body["total"]:
                return rows

    def wait_rows(self, server: h.Server, token: str, predicate, what: str,
                  timeout: float = MAIL_TIMEOUT_S) -> list[dict]:
        """Poll the outbox until predicate(rows) holds; returns those rows."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.outbox(server, token)
            if predicate(rows):
                return rows
            if time.monotonic() > deadline:
                self.fail(f"outbox never showed {what} within {timeout}s; last seen:\n"
                          + "\n".join(map(str, rows[:20])))
            time.sleep(0.1)

    def wait_all_sent(self, server: h.Server, token: str, count: int, timeout: float = MAIL_TIMEOUT_S) -> list[dict]:
        return self.wait_rows(server, token, lambda rows: len(rows) == count and all(
            r["status"] == "sent" for r in rows), f"{count} rows, all sent", timeout)

    def confirm(self, server: h.Server, token: str, team_id: str) -> dict:
        body = self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/confirm", token))
        self.assertEqual((body["team_id"], body["registration_status"]), (team_id, "confirmed"), body)
        return body

    def reject(self, server: h.Server, token: str, team_id: str, reason: str | None = None) -> dict:
        body = {"reason": reason} if reason is not None else None
        answer = self.ok(admin_request(server, "PUT", f"/admin/teams/{team_id}/reject", token, body=body))
        self.assertEqual(answer["registration_status"], "rejected", answer)
        return answer

    def metrics(self, server: h.Server) -> dict:
        resp = h.get(server, "/metrics")
        self.assertEqual(resp.status, 200, resp.describe())
        return parse_metrics(resp.body.decode())

    def metric_sum(self, samples: dict, name: str) -> float:
        values = [v for (n, _), v in samples.items() if n == name]
        self.assertTrue(values, f"/metrics has no {name}")
        return sum(values)

    # -- mail ----------------------------------------------------------------------------------------------

    def register_team(self, server: h.Server, form: h.Form | None = None, team_id: str | None = None,
                      **kw) -> Team:
        resp = register(server, form, **kw)
        return Team(resp.form, self.assertCreated(resp, team_id))

    def assert_quiet(self, capture: h.SmtpCapture, count: int, seconds: float = QUIET_S) -> list[dict]:
        """No mail beyond count arrives for a while (a duplicate would)."""
        deadline = time.monotonic() + seconds
        while True:
            mails = capture.messages()
            self.assertEqual(len(mails), count, "more mail arrived than expected: "
                             + "; ".join(f"{m['message_id']} {m['subject']}" for m in mails))
            if time.monotonic() > deadline:
                return mails
            time.sleep(0.1)

    def assert_row(self, row: dict, kind: str, team: Team, status: str | None = None,
                   attempts: int | None = None) -> None:
        self.assertEqual((row["kind"], row["team_id"], row["recipient"], row["cc"]),
                         (kind, team.team_id, team.captain, team.vice), row)
        self.assertIsInstance(row["id"], int, row)
        self.assertRegex(row["created_at"], ISO_UTC)
        if status is not None:
            self.assertEqual(row["status"], status, row)
        if attempts is not None:
            self.assertEqual(row["attempts"], attempts, row)
        if row["status"] == "sent":
            self.assertRegex(row["sent_at"] or "", ISO_UTC, row)

    def assert_envelope(self, mail: dict, team: Team, row: dict) -> None:
        """Headers and envelope every mail of the team must have."""
        self.assertEqual(mail["defects"], [], mail)
        self.assertEqual(mail["content_type"], "multipart/alternative", mail)
        self.assertEqual(addresses(mail["from"]), [MAIL_FROM], mail["from"])
        self.assertEqual(addresses(mail["to"]), [team.captain], mail["to"])
        self.assertEqual(addresses(mail["cc"]), [team.vice], mail["cc"])
        self.assertEqual(mail["rcpt_tos"], [team.captain, team.vice])
        self.assertEqual(mail["message_id"], message_id(row["id"]))
        date = email.utils.parsedate_to_datetime(mail["date"])
        self.assertIsNotNone(date.tzinfo, mail["date"])
        age = abs((datetime.datetime.now(datetime.timezone.utc) - date).total_seconds())
        self.assertLess(age, 3600, f"Date {mail['date']} is not about now")
        self.assertIsInstance(mail["text"], str, "no text/plain part")
        self.assertIsInstance(mail["html"], str, "no text/html part")

    def assert_shows(self, mail: dict, *values: str) -> None:
        """Each value verbatim in the text part and HTML-escaped (only) in the HTML part."""
        for value in values:
            self.assertIn(value, mail["text"], f"text part lacks {value!r}:\n{mail['text']}")
            escaped = html_escape(value)
            self.assertIn(escaped, mail["html"], f"HTML part lacks {escaped!r}:\n{mail['html']}")
            if escaped != value:
                self.assertNotIn(value, mail["html"], f"HTML part has {value!r} unescaped")

    def assert_received(self, mail: dict, team: Team, row: dict) -> None:
        self.assert_envelope(mail, team, row)
        self.assertIn(team.team_id, mail["subject"])
        self.assertEqual(mail["subject"], expected_subject("received", team_id=team.team_id,
                                                           team_name=team.team_name, church_name=team.church_name,
                                                           captain_name=team.captain_name))
        self.assert_shows(mail, team.team_id, team.team_name, team.church_name, *team.players)
        self.assertIn("pending", mail["text"])
        self.assertIn("pending", mail["html"])

    def assert_confirmed(self, mail: dict, team: Team, row: dict) -> None:
        self.assert_envelope(mail, team, row)
        self.assertIn(team.team_id, mail["subject"])
        self.assertEqual(mail["subject"], expected_subject("confirmed", team_id=team.team_id,
                                                           team_name=team.team_name, church_name=team.church_name,
                                                           captain_name=team.captain_name))
        self.assert_shows(mail, team.team_id, *team.players)

    def mail_of(self, mails: list[dict], row: dict) -> dict:
        matching = [m for m in mails if m["message_id"] == message_id(row["id"])]
        self.assertEqual(len(matching), 1, f"mails with the Message-ID of row {row}: "
                         f"{[m['message_id'] for m in mails]}")
        return matching[0]


class Delivery(MailCase):
    def test_received_confirmed_and_rejected_mails_arrive_once_matching_their_outbox_rows(self):
        capture = self.capture()
        server, token = self.mail_server(capture, mail_reply_to=REPLY_TO)
        first = self.register_team(server, team_id="ICCT-001", players=12)
        capture.wait_for(1)
        rows = self.wait_all_sent(server, token, 1)
        mails = self.assert_quiet(capture, 1)
        self.assert_row(rows[0], "received", first, "sent", attempts=1)
        self.assert_received(mails[0], first, rows[0])
        self.assertIsNone(rows[0]["last_error"], rows[0])
        raw = email.message_from_bytes(capture.raw_messages()[0], policy=email.policy.default)
        self.assertEqual(addresses(raw["Reply-To"]), [REPLY_TO])

        confirmed = self.confirm(server, token, first.team_id)
        self.assertEqual((confirmed["email_notification"], confirmed["alreadyConfirmed"]), ("queued", False))
        capture.wait_for(2)
        rows = self.wait_all_sent(server, token, 2)
        mails = self.assert_quiet(capture, 2)
        self.assert_row(rows[0], "confirmed", first, "sent", attempts=1)  # newest first
        self.assert_confirmed(self.mail_of(mails, rows[0]), first, rows[0])

        again = self.confirm(server, token, first.team_id)
        self.assertTrue(again["alreadyConfirmed"], again)
        self.assertNotEqual(again["email_notification"], "queued", again)

        second = self.register_team(server, team_id="ICCT-002")
        reason = "Pastor letter unreadable & receipt <missing>; please send \"both\" again"
        rejected = self.reject(server, token, second.team_id, reason)
        self.assertEqual(rejected["email_notification"], "queued", rejected)
        capture.wait_for(4)
        rows = self.wait_all_sent(server, token, 4)
        mails = self.assert_quiet(capture, 4)
        self.assertEqual([r["kind"] for r in rows], ["rejected", "received", "confirmed", "received"])
        self.assertEqual([r["id"] for r in rows], sorted((r["id"] for r in rows), reverse=True))
        for row in rows:
            self.assertEqual(row["attempts"], 1, row)
        self.assert_row(rows[1], "received", second, "sent")
        self.assert_received(self.mail_of(mails, rows[1]), second, rows[1])
        self.assert_row(rows[0], "rejected", second, "sent")
        rejection = self.mail_of(mails, rows[0])
        self.assert_envelope(rejection, second, rows[0])
        self.assertEqual(rejection["subject"], expected_subject("rejected", team_id=second.team_id,
                                                                team_name=second.team_name,
                                                                church_name=second.church_name,
                                                                captain_name=second.captain_name))
        self.assert_shows(rejection, reason, second.team_id)
        self.assertEqual(len({m["message_id"] for m in mails}), 4)

        m = self.metrics(server)
        self.assertEqual(self.metric_sum(m, "teamreg_mail_deliveries_total"), 4)
        self.assertEqual(self.metric_sum(m, "teamreg_mail_failures_total"), 0)
        self.assertEqual([m.get(("teamreg_outbox_mails", f'{{status="{s}"}}')) for s in ("pending", "sent", "dead")],
                         [0, 4, 0])
        self.assertIn(("teamreg_outbox_oldest_pending_seconds", ""), m)

    def test_outbox_listing_filters_pages_and_refuses_a_bad_status(self):
        capture = self.capture()
        server, token = self.mail_server(capture)
        first = self.register_team(server, team_id="ICCT-001")
        second = self.register_team(server, team_id="ICCT-002")
        capture.wait_for(2)
        rows = self.wait_all_sent(server, token, 2)
        self.assertEqual([r["team_id"] for r in rows], [second.team_id, first.team_id])
        self.assertEqual([r["id"] for r in self.outbox(server, token, "sent")], [r["id"] for r in rows])
        for status in ("pending", "dead"):
            body = self.outbox_page(server, token, f"?status={status}")
            self.assertEqual((body["data"], body["total"]), ([], 0), status)
        page = self.outbox_page(server, token, "?limit=1&offset=1")
        self.assertEqual(([r["id"] for r in page["data"]], page["total"]), ([rows[1]["id"]], 2))
        for bad in ("bogus", "SENT", "queued"):
            with self.subTest(status=bad):
                self.assertError(admin_request(server, "GET", f"/admin/outbox?status={bad}", token), 400,
                                 "VALIDATION_FAILED", "status")
        self.assertError(admin_request(server, "GET", "/admin/outbox", None), 401, "UNAUTHORIZED")
        self.assertError(admin_request(server, "POST", f"/admin/outbox/{rows[0]['id']}/retry", None), 401,
                         "UNAUTHORIZED")


class Content(MailCase):
    def test_non_ascii_and_apostrophes_arrive_intact_and_html_escaped(self):
        capture = self.capture()
        server, token = self.mail_server(capture)
        form = h.make_team(church="Église Saint-Pierre", team_name="செயின்ட் பால்ஸ் அணி")
        form.set("captain_name", "Seán O'Brien")
        form.set("vice_name", "Zoë D'Souza")
        form.set("player_0_name", "Ångström O'Neil")
        form.set("player_1_name", "முருகன் செல்வம்")
        team = self.register_team(server, form, "ICCT-001")
        self.confirm(server, token, team.team_id)
        capture.wait_for(2)
        rows = self.wait_all_sent(server, token, 2)
        mails = self.assert_quiet(capture, 2)
        received, confirmed = self.mail_of(mails, rows[1]), self.mail_of(mails, rows[0])
        self.assert_received(received, team, rows[1])  # exact decoded subject, every value in both parts
        self.assert_confirmed(confirmed, team, rows[0])
        self.assertIn("செயின்ட் பால்ஸ் அணி", received["subject"])
        for mail in (received, confirmed):
            self.assertIn("Seán O'Brien", mail["text"])
            self.assertIn("Seán O&#39;Brien", mail["html"])
            self.assertNotIn("O'Brien", mail["html"])
            self.assertIn("Ångström O&#39;Neil", mail["html"])
            self.assertIn("முருகன் செல்வம்", mail["html"])
            self.assertIn("Église Saint-Pierre", mail["text"])
            self.assertIn("Église Saint-Pierre", mail["html"])

    def test_markup_characters_are_escaped_in_html_and_verbatim_in_text_and_subject(self):
        capture = self.capture()
        server, token = self.mail_server(capture)
        # Characters the form refuses, so the team is stored by hand: escaping must not rely on validation.
        players = [("Tom & Jerry", "Batsman"), ("<b>Bold</b> Hitter", "Bowler"), ('Say "Hi" Sam', "All-Rounder"),
                   ("Ann O'Hara", "Wicket-Keeper")] + [(f"Player {h.letters(i)}", "Batsman") for i in range(7)]
        h.insert_team_by_hand(server, "ICCT-500", 500, team_name="Tom & Jerry <XI>",
                              church_name="St. Peter & Paul <Old> \"Town\"", captain_name="Cap O'Hara & Co",
                              players=players)
        hand = server.backend().team("ICCT-500")
        self.assertIsNotNone(hand)
        body = self.confirm(server, token, "ICCT-500")
        self.assertEqual(body["email_notification"], "queued", body)
        capture.wait_for(1)
        rows = self.wait_all_sent(server, token, 1)
        mail = self.assert_quiet(capture, 1)[0]
        self.assertEqual((rows[0]["kind"], rows[0]["team_id"], rows[0]["recipient"]),
                         ("confirmed", "ICCT-500", hand["captain_email"]))
        self.assertEqual(mail["defects"], [])
        self.assertEqual(mail["message_id"], message_id(rows[0]["id"]))
        self.assertEqual(mail["subject"], expected_subject("confirmed", team_id="ICCT-500",
                                                           team_name="Tom & Jerry <XI>",
                                                           church_name="St. Peter & Paul <Old> \"Town\"",
                                                           captain_name="Cap O'Hara & Co"))
        self.assert_shows(mail, "ICCT-500", *(name for name, _ in players))
        # The church is in the built-in confirmed template: '&' is "&amp;" in HTML and '&' in text.
        self.assert_shows(mail, "St. Peter & Paul <Old> \"Town\"", "Tom & Jerry <XI>", "Cap O'Hara & Co")
        self.assertIn("St. Peter &amp; Paul &lt;Old&gt; &quot;Town&quot;", mail["html"])

    def test_a_template_directory_overrides_the_received_subject(self):
        capture = self.capture()
        directory = tempfile.mkdtemp(prefix="teamreg-e2e-templates-")
        self.addCleanup(shutil.rmtree, directory, True)
        with open(os.path.join(directory, "received.subject.txt"), "w", encoding="utf-8") as f:
            f.write("Custom {{team_id}} for {{church_name}}\n")
        server, token = self.mail_server(capture, mail_templates=directory)
        team = self.register_team(server, team_id="ICCT-001")
        capture.wait_for(1)
        rows = self.wait_all_sent(server, token, 1)
        mail = self.assert_quiet(capture, 1)[0]
        self.assertEqual(mail["subject"], f"Custom {team.team_id} for {team.church_name}")
        self.assert_envelope(mail, team, rows[0])
        # Files the directory does not have stay built in.
        self.assert_shows(mail, team.team_id, team.team_name, team.church_name, *team.players)
        self.assertIn("pending", mail["text"])

    def test_a_bad_template_stops_startup_naming_the_file(self):
        capture = self.capture(running=False)
        directory = tempfile.mkdtemp(prefix="teamreg-e2e-templates-")
        self.addCleanup(shutil.rmtree, directory, True)
        with open(os.path.join(directory, "received.subject.txt"), "w", encoding="utf-8") as f:
            f.write("Hello {{nope}}\n")
        result = self.refused_start(*self.mail_args(capture, mail_templates=directory))
        self.assertIn("received.subject.txt", result.stderr)


class Configuration(MailCase):
    def test_without_smtp_url_nothing_is_queued_and_answers_say_disabled(self):
        server = self.start_server("--admin-failure-limit", "0")
        token = create_admin_token(server)
        first = self.register_team(server, team_id="ICCT-001")
        second = self.register_team(server, team_id="ICCT-002")
        body = self.confirm(server, token, first.team_id)
        self.assertEqual((body["email_notification"], body["alreadyConfirmed"]), ("disabled", False))
        again = self.confirm(server, token, first.team_id)
        self.assertEqual((again["email_notification"], again["alreadyConfirmed"]), ("disabled", True))
        rejected = self.reject(server, token, second.team_id, "late")
        self.assertEqual(rejected["email_notification"], "disabled", rejected)
        for query in ("", "?status=pending", "?status=sent", "?status=dead"):
            page = self.outbox_page(server, token, query)
            self.assertEqual((page["data"], page["total"]), ([], 0), query)
        m = self.metrics(server)
        self.assertEqual([m.get(("teamreg_outbox_mails", f'{{status="{s}"}}')) for s in ("pending", "sent", "dead")],
                         [0, 0, 0])

    def test_smtp_url_without_mail_from_stops_startup(self):
        capture = self.capture(running=False)
        result = self.refused_start(*self.mail_args(capture, mail_from=None))
        self.assertIn("--mail-from", result.stderr)


    def test_check_says_whether_the_smtp_server_accepts_a_connection_without_failing(self):
        capture = self.capture()
        server = self.start_server()
        flags = ["--smtp-url", capture.url, "--mail-from", MAIL_FROM]
        up = h.teamreg_cli(server, "check", *flags)
        self.assertEqual(up.returncode, 0, up.stderr[-2000:])
        self.assertIn("SMTP server accepts connections", up.stdout)
        self.assertIn("check passed", up.stdout)
        self.assertEqual(capture.messages(), [], "check must not send mail")
        capture.stop()
        down = h.teamreg_cli(server, "check", *flags)
        self.assertEqual(down.returncode, 0, "an unreachable SMTP server is a warning, not a failure")
        self.assertIn("check warning", down.stderr)
        self.assertIn("check passed", down.stdout)

    def test_smtp_login_with_the_password_from_the_environment_or_a_file_never_logged(self):
        password = "s3cret-Mail-Password-26"
        capture = self.start_smtp_capture(auth=f"mailer:{password}")
        server = self.start_server(*self.mail_args(capture, smtp_user="mailer"),
                                   env={"TEAMREG_SMTP_PASSWORD": password})
        self.register_team(server, team_id="ICCT-001")
        capture.wait_for(1, MAIL_TIMEOUT_S)
        self.assertTrue(capture.messages()[0]["authenticated"])
        server.stop()
        self.assertNotIn(password, server.stderr_text(whole=True))

        secret_file = os.path.join(os.path.dirname(server.data_dir), "smtp-password")
        with open(secret_file, "w", encoding="utf-8") as f:
            f.write(password + "\n")
        other = self.start_server(*self.mail_args(capture, smtp_user="mailer", smtp_password_file=secret_file))
        self.register_team(other, team_id="ICCT-001")
        capture.wait_for(2, MAIL_TIMEOUT_S)
        self.assertTrue(capture.messages()[1]["authenticated"])
        other.stop()
        self.assertNotIn(password, other.stderr_text(whole=True))

        refused = self.refused_start(*self.mail_args(capture, smtp_user="mailer"))
        self.assertIn("TEAMREG_SMTP_PASSWORD", refused.stderr)


class Failures(MailCase):
    def test_smtp_down_during_confirm_then_the_mail_arrives_once_after_it_returns(self):
        capture = self.capture()
        server, token = self.mail_server(capture)
        team = self.register_team(server, team_id="ICCT-001")
        capture.wait_for(1)
        self.wait_all_sent(server, token, 1)
        capture.stop()

        started = time.monotonic()
        body = self.confirm(server, token, team.team_id)
        elapsed = time.monotonic() - started
        self.assertEqual(body["email_notification"], "queued", body)
        self.assertLess(elapsed, 5, "confirm waited for the SMTP server")

        def failed_once(rows):
            mine = [r for r in rows if r["kind"] == "confirmed"]
            return len(mine) == 1 and mine[0]["status"] == "pending" and mine[0]["attempts"] >= 1 and \
                bool(mine[0]["last_error"])
        rows = self.wait_rows(server, token, failed_once, "the confirmed mail pending with a failed attempt")
        pending = rows[0]
        self.assert_row(pending, "confirmed", team, "pending")
        self.assertIsInstance(pending["last_error"], str)
        self.assertIsNone(pending["sent_at"], pending)

        capture.start()  # same port
        capture.wait_for(2)
        rows = self.wait_all_sent(server, token, 2)
        mails = self.assert_quiet(capture, 2)
        self.assertEqual(rows[0]["id"], pending["id"])
        self.assertGreaterEqual(rows[0]["attempts"], 2, rows[0])
        self.assert_confirmed(self.mail_of(mails, rows[0]), team, rows[0])
        m = self.metrics(server)
        self.assertEqual(self.metric_sum(m, "teamreg_mail_deliveries_total"), 2)
        self.assertEqual(self.metric_sum(m, "teamreg_mail_failures_total"), rows[0]["attempts"] - 1)

    def test_550_until_dead_then_the_admin_retry_delivers_once_and_is_audited(self):
        capture = self.capture(mode="reject")
        server, token = self.mail_server(capture, mail_max_attempts=3)
        team = self.register_team(server, team_id="ICCT-001")
        rows = self.wait_rows(server, token, lambda rows: rows and rows[0]["status"] == "dead", "a dead mail")
        dead = rows[0]
        self.assert_row(dead, "received", team, "dead", attempts=3)
        self.assertIn("550", dead["last_error"] or "", dead)
        self.assertEqual(capture.messages(), [])
        self.assertEqual([r["id"] for r in self.outbox(server, token, "dead")], [dead["id"]])
        m = self.metrics(server)
        self.assertEqual(self.metric_sum(m, "teamreg_mail_failures_total"), 3)
        self.assertEqual(m.get(("teamreg_outbox_mails", '{status="dead"}')), 1)
        time.sleep(QUIET_S)  # a dead mail is not tried again by itself
        self.assertEqual(self.outbox(server, token)[0]["attempts"], 3)

        capture.stop()
        capture.start(mode=None)
        retry = self.ok(admin_request(server, "POST", f"/admin/outbox/{dead['id']}/retry", token))
        self.assertEqual((retry["id"], retry["status"], retry["changed"]), (dead["id"], "pending", True), retry)
        capture.wait_for(1)
        rows = self.wait_all_sent(server, token, 1)
        mails = self.assert_quiet(capture, 1)
        self.assert_row(rows[0], "received", team, "sent", attempts=1)
        self.assert_received(mails[0], team, rows[0])

        entries = self.ok(admin_request(server, "GET", "/admin/audit?limit=1000", token))["data"]
        retries = [e for e in entries if e["action"] == "outbox.retry"]
        self.assertEqual([e["subject"] for e in retries], [str(dead["id"])], entries)

        self.assertError(admin_request(server, "POST", f"/admin/outbox/{dead['id']}/retry", token), 409,
                         "MAIL_ALREADY_SENT")
        self.assertError(admin_request(server, "POST", "/admin/outbox/987654/retry", token), 404, "NOT_FOUND")
        self.assertEqual(len([e for e in self.ok(admin_request(server, "GET", "/admin/audit?limit=1000", token))
                              ["data"] if e["action"] == "outbox.retry"]), 1)
        m = self.metrics(server)
        self.assertEqual(self.metric_sum(m, "teamreg_mail_deliveries_total"), 1)
        self.assertEqual([m.get(("teamreg_outbox_mails", f'{{status="{s}"}}')) for s in ("pending", "sent", "dead")],
                         [0, 1, 0])

    def test_451_is_retried_with_growing_attempts_until_max_attempts(self):
        capture = self.capture(mode="tempfail")
        # Failures at about 0, 0.5, 1.5, 3.5 and 7.5 s (±25 %): each attempt count is visible for a while.
        server, token = self.mail_server(capture, mail_max_attempts=5, mail_retry_base="0.5")
        team = self.register_team(server, team_id="ICCT-001")
        seen: list[tuple[str, int]] = []
        checked_pending = failed_seen = False
        deadline = time.monotonic() + 40
        while True:
            rows = self.outbox(server, token)
            self.assertEqual(len(rows), 1, rows)
            row = rows[0]
            if not seen or seen[-1] != (row["status"], row["attempts"]):
                seen.append((row["status"], row["attempts"]))
            if row["last_error"] is not None:  # None while the first attempt is still in progress
                self.assertIn("451", row["last_error"], row)
                failed_seen = True
            if row["status"] == "pending" and row["attempts"] == 4 and not checked_pending:
                # `attempts` counts an attempt when it is claimed, so this row may still be in its
                # 4th attempt. The check below wants the wait after the 4th failure: the metrics
                # (read first) count that failure, and the row (read after them) has not been
                # claimed a 5th time. The 5th attempt is due about 4 s after the 4th failure.
                m = self.metrics(server)
                if self.metric_sum(m, "teamreg_mail_failures_total") >= 4:
                    waiting = self.outbox(server, token)[0]
                    if (waiting["status"], waiting["attempts"]) == ("pending", 4):
                        checked_pending = True
                        retry = self.ok(admin_request(server, "POST", f"/admin/outbox/{row['id']}/retry", token))
                        self.assertEqual((retry["id"], retry["status"], retry["changed"]),
                                         (row["id"], "pending", False), retry)
                        self.assertEqual(m.get(("teamreg_outbox_mails", '{status="pending"}')), 1, m)
                        self.assertEqual(self.metric_sum(m, "teamreg_mail_failures_total"), 4, m)
                        self.assertGreaterEqual(m.get(("teamreg_outbox_oldest_pending_seconds", ""), 0), 1, m)
            if row["status"] != "pending":
                break
            if time.monotonic() > deadline:
                self.fail(f"the mail was still pending after 40 s: {seen}")
            time.sleep(0.05)
        self.assertEqual(seen[-1], ("dead", 5), seen)
        self.assertIn("451", row["last_error"] or "", row)
        self.assert_row(row, "received", team, "dead", attempts=5)
        pending_attempts = [a for s, a in seen if s == "pending"]
        self.assertEqual([s for s, _ in seen[:-1]], ["pending"] * (len(seen) - 1), seen)
        self.assertEqual(pending_attempts, sorted(pending_attempts), f"attempts went down: {seen}")
        self.assertGreaterEqual(len({a for a in pending_attempts if a >= 1}), 3, f"attempts did not grow: {seen}")
        self.assertTrue(checked_pending, f"the wait after the 4th failure was never seen: {seen}")
        self.assertTrue(failed_seen)
        self.assertEqual(capture.messages(), [])

    def test_refused_registrations_and_failed_confirms_queue_nothing(self):
        capture = self.capture()
        server, token = self.mail_server(capture)
        church = "Church of Full Slots"
        a = self.register_team(server, team_id="ICCT-001", church=church)
        self.register_team(server, team_id="ICCT-002", church=church)
        capture.wait_for(2)
        self.wait_all_sent(server, token, 2)

        self.assertError(register(server, captain_email=a.captain), 409, "DUPLICATE_CAPTAIN_EMAIL")
        self.assertError(register(server, h.invalid_case("captain_name with digit").build()), 400,
                         "VALIDATION_FAILED", "captain_name")
        self.assertError(register(server, church=church), 409, "CHURCH_LIMIT_REACHED")
        self.assertError(admin_request(server, "PUT", "/admin/teams/ICCT-404/confirm", token), 404, "TEAM_NOT_FOUND")
        self.assertEqual(self.outbox_page(server, token)["total"], 2)

        self.assertEqual(self.reject(server, token, a.team_id)["email_notification"], "queued")
        self.register_team(server, team_id="ICCT-003", church=church)  # takes the slot a freed
        capture.wait_for(4)
        self.wait_all_sent(server, token, 4)
        # Un-rejecting a into its full church fails: no confirmed mail.
        self.assertError(admin_request(server, "PUT", f"/admin/teams/{a.team_id}/confirm", token), 409,
                         "CHURCH_LIMIT_REACHED")
        self.assertEqual(self.outbox_page(server, token)["total"], 4)
        mails = self.assert_quiet(capture, 4)
        self.assertEqual(self.outbox_page(server, token)["total"], 4)
        kinds = collections.Counter((r["kind"], r["team_id"]) for r in self.outbox(server, token))
        self.assertEqual(kinds, collections.Counter({("received", "ICCT-001"): 1, ("received", "ICCT-002"): 1,
                                                    ("rejected", "ICCT-001"): 1, ("received", "ICCT-003"): 1}))
        self.assertEqual(len({m["message_id"] for m in mails}), 4)


class Crashes(MailCase):
    def test_kill9_with_mails_pending_then_every_mail_arrives_once_after_restart(self):
        capture = self.capture(running=False)
        server, token = self.mail_server(capture, smtp_timeout=2)
        teams = [self.register_team(server, team_id=h.format_team_id(n)) for n in range(1, 11)]
        self.wait_rows(server, token, lambda rows: len(rows) == 10 and all(
            r["status"] == "pending" and r["attempts"] >= 1 for r in rows), "10 pending mails, each tried once")
        server.kill9()
        capture.start()
        server.start()  # same data dir and database, same flags
        capture.wait_for(10, timeout=60)
        rows = self.wait_all_sent(server, token, 10)
        mails = self.assert_quiet(capture, 10)
        by_team = {t.team_id: t for t in teams}
        self.assertEqual(sorted(r["team_id"] for r in rows), sorted(by_team))
        for row in rows:
            self.assert_row(row, "received", by_team[row["team_id"]], "sent")
            self.assert_received(self.mail_of(mails, row), by_team[row["team_id"]], row)

    def test_kill9_inside_data_then_the_mail_is_sent_again_with_the_same_message_id(self):
        capture = self.capture(delay_data=0.5)
        server, token = self.mail_server(capture, smtp_timeout=2)
        team = self.register_team(server, team_id="ICCT-001")
        deadline = time.monotonic() + MAIL_TIMEOUT_S
        while not capture.data_started():
            self.assertLess(time.monotonic(), deadline, "the capture server never got the mail's DATA")
            time.sleep(0.01)
        server.kill9()  # the server waits 0.5 s before it answers 250
        in_data = capture.data_started()[0]
        server.start()  # the lease of the dead process ends after smtp-timeout + 10 s
        capture.wait_for(1, timeout=60)
        rows = self.wait_all_sent(server, token, 1)  # marked sent after the 250: every copy is stored by now
        mails = self.assert_quiet(capture, len(capture.messages()))
        self.assertGreaterEqual(len(mails), 1)
        self.assertEqual(in_data, message_id(rows[0]["id"]))
        self.assertEqual({m["message_id"] for m in mails}, {in_data})
        self.assert_row(rows[0], "received", team, "sent")
        self.assert_received(mails[-1], team, rows[0])


if h.backend_kind() == "postgres":  # several processes need one shared database: PostgreSQL only
    class SeveralProcesses(MailCase):
        def test_three_processes_deliver_every_mail_exactly_once(self):
            capture = self.capture()
            dsn = h.postgres().new_database()
            args = self.mail_args(capture)
            first = h.Server(*args, database=dsn, start=False)
            servers = [first] + [h.Server(*args, database=dsn, data_dir=first.data_dir, start=False)
                                 for _ in range(2)]
            for server in servers:  # the owner of the data dir (added first) is cleaned up last
                self._servers.append(server)
                self.addCleanup(server.cleanup)
            for server in servers:
                server.start()
            token = create_admin_token(first)

            forms = [h.make_team() for _ in range(100)]
            results = h.run_concurrently(lambda i: register(servers[i % 3], forms[i]), range(100), workers=12)
            self.assertOutcomes([(r, (201, None, None)) for r in results])
            teams = {r.team_id: Team(r.form, r.team_id) for r in results}
            self.assertEqual(sorted(teams), h.team_ids(range(1, 101)))
            ids = sorted(teams)
            answers = h.run_concurrently(
                lambda i: admin_request(servers[i % 3], "PUT", f"/admin/teams/{ids[i]}/confirm", token),
                range(100), workers=12)
            self.assertOutcomes([(r, (200, None, None)) for r in answers])
            for resp in answers:
                self.assertEqual(self.ok(resp)["email_notification"], "queued", resp.describe())

            capture.wait_for(200, timeout=180)
            rows = self.wait_all_sent(first, token, 200, timeout=120)
            mails = self.assert_quiet(capture, 200)
            self.assertEqual(len({m["message_id"] for m in mails}), 200, "a Message-ID arrived twice")
            by_message_id = {message_id(r["id"]): r for r in rows}
            delivered = collections.Counter()
            for mail in mails:
                row = by_message_id.get(mail["message_id"])
                self.assertIsNotNone(row, f"a mail no outbox row has: {mail['message_id']}")
                team = teams[row["team_id"]]
                self.assertEqual(mail["rcpt_tos"], [team.captain, team.vice])
                self.assertIn(team.team_id, mail["subject"])
                delivered[(row["kind"], row["team_id"])] += 1
            self.assertEqual(delivered, collections.Counter({(kind, t): 1 for kind in ("received", "confirmed")
                                                             for t in ids}))
            total = sum(self.metric_sum(self.metrics(s), "teamreg_mail_deliveries_total") for s in servers)
            self.assertEqual(total, 200, "deliveries counted by the three processes")


if __name__ == "__main__":
    unittest.main()
