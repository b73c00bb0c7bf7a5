"""The configuration file (--config / TEAMREG_CONFIG, docs/operations.md#configuration-file): it takes effect,
a flag beats the environment which beats the file, a bad file stops the server naming key and line, and
`teamreg config show` says where each value came from without printing secrets. Also the journald form of the
log (JOURNAL_STREAM set) and
the sd_notify messages of a Type=notify unit. SQLite only: nothing here depends on the database."""

import os
import re
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
from harness import E2ETestCase, register  # noqa: E402

UNKNOWN_KEY_HINT = 'unknown key (keys are the serve flags without "--", e.g. listen, data-dir)'


class ConfigFile(E2ETestCase):
    def write_config(self, text: str) -> str:
        directory = tempfile.mkdtemp(prefix="teamreg-e2e-config-")
        self.addCleanup(lambda: __import__("shutil").rmtree(directory, ignore_errors=True))
        path = os.path.join(directory, "teamreg.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_file_values_take_effect(self):
        path = self.write_config('# a comment\nid-prefix = "CFG"\nid-width = 4\nteams-per-church = 1\n')
        server = self.start_server("--config", path)
        self.assertCreated(register(server, church="Config Church"), "CFG-0001")
        refused = register(server, church="Config Church")
        self.assertEqual(refused.status, 409, refused.describe())
        self.assertEqual(refused.json["message"], "Maximum 1 teams already registered for this church")

    def test_teamreg_config_variable_names_the_file(self):
        path = self.write_config('id-prefix = "ENVFILE"\n')
        server = self.start_server(env={"TEAMREG_CONFIG": path})
        self.assertCreated(register(server), "ENVFILE-001")

    def test_flag_beats_environment_beats_file(self):
        # The harness passes --listen 127.0.0.1:0 as a flag: the file's unusable port is never tried.
        path = self.write_config('id-prefix = "FILE"\nid-width = 5\nlisten = "127.0.0.1:1"\n')
        server = self.start_server("--config", path, env={"TEAMREG_ID_PREFIX": "ENV"})
        self.assertNotEqual(server.port, 1)
        self.assertCreated(register(server), "ENV-00001")
        server.stop()
        flagged = self.start_server("--config", path, "--id-prefix", "FLAG",
                                    env={"TEAMREG_ID_PREFIX": "ENV"})
        self.assertCreated(register(flagged), "FLAG-00001")

    def test_unknown_key_stops_the_server_naming_key_and_line(self):
        path = self.write_config('id-prefix = "CFG"\n\nlisen = "127.0.0.1:9"\n')
        result = h.run_cli("serve", "--config", path, "--listen", "127.0.0.1:0")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stderr,
                         f'teamreg: invalid configuration: {path}:3: key "lisen": {UNKNOWN_KEY_HINT}\n')
        self.assertEqual(result.stdout, "")

    def test_bad_value_stops_the_server_naming_key_and_line(self):
        path = self.write_config('min-players = "eleven"\n')
        result = h.run_cli("serve", "--config", path, "--listen", "127.0.0.1:0")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertTrue(result.stderr.startswith(
            f'teamreg: invalid configuration: {path}:1: key "min-players": invalid value "eleven": '),
            result.stderr)
        path = self.write_config('\nlog-level = "loud"\n')
        result = h.run_cli("check", "--config", path)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertTrue(result.stderr.startswith(
            f'teamreg: invalid configuration: {path}:2: key "log-level": invalid value "loud": '),
            result.stderr)

    def test_syntax_error_and_missing_file(self):
        path = self.write_config('id-prefix = "CFG"\nid-width = = 4\n')
        result = h.run_cli("serve", "--config", path)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertTrue(result.stderr.startswith(f"teamreg: invalid configuration: {path}:2: "), result.stderr)
        result = h.run_cli("serve", "--config", path + ".missing")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stderr, f"teamreg: invalid configuration: {path}.missing: cannot read the "
                                        "configuration file\n")

    def test_config_show_names_sources_and_masks_secrets(self):
        path = self.write_config('id-prefix = "FILE"\nmax-players = 14\nlisten = "127.0.0.1:9"\n'
                                 'smtp-url = "smtp://127.0.0.1:2525"\n'
                                 'mail-from = "x@example.org"\n')
        result = h.run_cli("config", "show", "--config", path, "--listen", "127.0.0.1:7000", env={
            "TEAMREG_ID_PREFIX": "ENV", "TEAMREG_DATABASE": "postgresql://app:db-pw@127.0.0.1/teamreg",
            "TEAMREG_ADMIN_TOKEN": "admin-token-value-123"})
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = {m.group(1): (m.group(2), m.group(3))
                 for m in re.finditer(r'^([a-z0-9-]+) = "(.*)" +# (.*)$', result.stdout, re.M)}
        self.assertEqual(lines["listen"], ("127.0.0.1:7000", "flag"))
        self.assertEqual(lines["id-prefix"], ("ENV", "env TEAMREG_ID_PREFIX"))
        self.assertEqual(lines["max-players"], ("14", f"file {path}:2"))
        self.assertEqual(lines["min-players"], ("11", "default"))
        self.assertEqual(lines["database"], ("postgresql://app:****@127.0.0.1/teamreg", "env TEAMREG_DATABASE"))
        self.assertEqual(lines["smtp-url"], ("smtp://127.0.0.1:2525", f"file {path}:4"))
        self.assertEqual(lines["config"], (path, "flag"))
        self.assertIn("# TEAMREG_ADMIN_TOKEN: set (****)\n", result.stdout)
        self.assertIn("# TEAMREG_SMTP_PASSWORD: not set\n", result.stdout)
        for secret in ("db-pw", "admin-token-value-123"):
            self.assertNotIn(secret, result.stdout + result.stderr)

    def test_journal_stream_lines_carry_syslog_priority(self):
        server = self.start_server(env={"JOURNAL_STREAM": "8:12345"})
        self.assertCreated(register(server))
        server.stop()
        lines = [line for line in server.stderr_text().splitlines() if line and not line.startswith("====")]
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[0-7]>(trace|debug|info|warning|error|critical) ")
        self.assertTrue(any(line.startswith("<6>info server started ") for line in lines), lines)
        self.assertTrue(any(line.startswith("<6>info request ") for line in lines), lines)

    def test_notify_socket_hears_ready_then_stopping(self):
        directory = tempfile.mkdtemp(prefix="teamreg-e2e-notify-")
        self.addCleanup(lambda: __import__("shutil").rmtree(directory, ignore_errors=True))
        path = os.path.join(directory, "notify.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
            listener.bind(path)
            listener.settimeout(h.START_TIMEOUT_S)
            server = self.start_server(env={"NOTIFY_SOCKET": path})
            self.assertEqual(listener.recv(4096), b"READY=1")
            self.assertCreated(register(server))
            server.stop()
            self.assertEqual(listener.recv(4096), b"STOPPING=1")


if __name__ == "__main__":
    unittest.main()
