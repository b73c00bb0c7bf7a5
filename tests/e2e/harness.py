"""Shared machinery for the end-to-end tests: the real teamreg binary over real HTTP.

Environment:
  TEAMREG_BIN           path of the teamreg binary (required)
  TEAMREG_TEST_BACKEND  sqlite (default) or postgres; with postgres a throw-away PostgreSQL 15 is started
  TEAMREG_E2E_KEEP      1 keeps data dirs and logs of every server for inspection
  TEAMREG_SMTP_PYTHON   python with aiosmtpd, runs tests/smtp/capture_server.py (default /usr/bin/python3)

Everything here talks to 127.0.0.1 only, bounds every wait, and ends only the processes it started.
"""

from __future__ import annotations

import atexit
import base64
import http.client
import itertools
import json
import os
import pwd
import queue
import random
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 120

DEFAULT_PREFIX = "ICCT"
DEFAULT_WIDTH = 3
REGISTRATION_PATH = "/api/register/team"
ORIGIN = "http://client.test"
CREATED_MESSAGE = "Registration submitted successfully. Please wait for admin confirmation."
CHURCH_LIMIT_MESSAGE = "Maximum 2 teams already registered for this church"
ROLES = ("Batsman", "Bowler", "All-Rounder", "Wicket-Keeper")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")

_KEEP = os.environ.get("TEAMREG_E2E_KEEP") == "1"
_RUN = uuid.uuid4().hex[:6]


def teamreg_bin() -> str:
    path = os.environ.get("TEAMREG_BIN")
    if not path:
        raise RuntimeError("TEAMREG_BIN is not set; point it at the teamreg binary (e.g. build/dev/teamreg)")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"TEAMREG_BIN={path} is not an executable file")
    return os.path.abspath(path)


def backend_kind() -> str:
    kind = os.environ.get("TEAMREG_TEST_BACKEND", "sqlite")
    if kind not in ("sqlite", "postgres"):
        raise RuntimeError(f"TEAMREG_TEST_BACKEND must be sqlite or postgres, not {kind!r}")
    return kind


def format_team_id(number: int, prefix: str = DEFAULT_PREFIX, width: int = DEFAULT_WIDTH) -> str:
    return f"{prefix}-{number:0{width}d}"


def team_ids(numbers, prefix: str = DEFAULT_PREFIX, width: int = DEFAULT_WIDTH) -> list[str]:
    return [format_team_id(n, prefix, width) for n in numbers]


# ---------------------------------------------------------------------------------------------------------
# Processes we started: ended by PID at exit if a test left one running.

_live_processes: dict[int, subprocess.Popen] = {}
_live_lock = threading.Lock()
_log_dir_path: str | None = None
_failures_seen = False


def _track(proc: subprocess.Popen) -> None:
    with _live_lock:
        _live_processes[proc.pid] = proc


def _untrack(proc: subprocess.Popen) -> None:
    with _live_lock:
        _live_processes.pop(proc.pid, None)


def _log_dir() -> str:
    global _log_dir_path
    if _log_dir_path is None:
        _log_dir_path = tempfile.mkdtemp(prefix="teamreg-e2e-logs-")
    return _log_dir_path


@atexit.register
def _cleanup_at_exit() -> None:
    with _live_lock:
        leftovers = list(_live_processes.values())
    for proc in leftovers:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    if _postgres is not None:
        _postgres.stop()
    if _log_dir_path and not _KEEP and not _failures_seen:
        shutil.rmtree(_log_dir_path, ignore_errors=True)
    elif _log_dir_path:
        sys.stderr.write(f"teamreg e2e: server logs kept in {_log_dir_path}\n")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------------
# PostgreSQL: a throw-away cluster in a temp dir. Failing to start raises: tests fail, never skip.

PG_BIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    """A PostgreSQL 15 cluster in a temp dir, on 127.0.0.1 and a private unix socket dir, trust auth."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="teamreg-pg-")
        self.data = os.path.join(self.root, "data")
        self.sockets = os.path.join(self.root, "sock")
        self.log = os.path.join(self.root, "server.log")  # written by the postmaster itself
        self.commands_log = os.path.join(self.root, "commands.log")
        self.port: int | None = None
        self.running = False
        self._db_counter = itertools.count(1)
        self._db_lock = threading.Lock()
        try:
            user = pwd.getpwnam("postgres")
            os.makedirs(self.sockets)
            for path in (self.root, self.sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
            self._as_postgres([f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                               "-E", "UTF8", "--locale=C", "--no-sync"], timeout=120)
            last_error = None
            for _ in range(3):  # the free port can be taken between probing and binding
                self.port = free_port()
                try:
                    self._start()
                    break
                except RuntimeError as e:
                    last_error = e
            else:
                raise RuntimeError(f"PostgreSQL did not start: {last_error}")
            self.create_database("teamreg")
        except BaseException:
            self.stop()
            raise

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str = "teamreg") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        with open(self.commands_log, "ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            result = subprocess.run(["runuser", "-u", "postgres", "--"] + argv, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}; output:\n{tail(self.commands_log, 8)}"
                               f"\nserver log:\n{tail(self.log, 15)}")
        return result

    def _start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c max_connections=300 "
                   "-c shared_buffers=64MB")
        self._as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60",
                           "-o", options, "start"], timeout=90)
        self.running = True

    def psql(self, sql: str, database: str = "postgres") -> str:
        return run_psql(self.dsn(database), sql)

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def new_database(self) -> str:
        """A fresh, empty database (one per Server, so that tests never see each other's teams)."""
        with self._db_lock:
            name = f"teamreg_{next(self._db_counter)}"
        return self.create_database(name)

    def restart_fast(self) -> None:
        """pg_ctl restart -m fast: every connection is dropped, then the server comes back."""
        self._as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "-m", "fast", "restart"],
                          timeout=90)

    def stop(self) -> None:
        if self.running:
            self.running = False
            try:
                self._as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "-m", "fast",
                                   "stop"], timeout=90)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                sys.stderr.write(f"teamreg e2e: stopping PostgreSQL failed: {e}\n")
                return  # keep the dir for inspection
        if not _KEEP:
            shutil.rmtree(self.root, ignore_errors=True)


_postgres: Postgres | None = None
_postgres_lock = threading.Lock()


def postgres() -> Postgres:
    """The PostgreSQL cluster of this test process, started on first use and stopped at exit."""
    global _postgres
    with _postgres_lock:
        if _postgres is None:
            _postgres = Postgres()
        return _postgres


def run_psql(dsn: str, sql: str, timeout: float = 60) -> str:
    """Runs sql (on standard input: it may be larger than a command line) statement by statement."""
    result = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-P", "null=\\N",
                             "-d", dsn, "-f", "-"], input=sql, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed ({result.returncode}) for {sql!r}: {result.stderr.strip()}")
    return result.stdout


# ---------------------------------------------------------------------------------------------------------
# The server under test.

_LISTENING = re.compile(r"listening on http://(127\.0\.0\.1):(\d+)")
_server_counter = itertools.count(1)


class ServerStartError(AssertionError):
    pass


class Server:
    """One teamreg process. Data dir is fresh unless given; with the postgres backend so is the database."""

    def __init__(self, *args: str, data_dir: str | None = None, database: str | None = None,
                 env: dict | None = None, rate_limit: int | None = 0, start: bool = True,
                 wrapper: list[str] | None = None) -> None:
        """wrapper: a command that runs teamreg (e.g. prlimit, unshare) and execs it, keeping its PID."""
        self.args = list(args)
        self.wrapper = list(wrapper or [])
        self.rate_limit = rate_limit
        self.env = dict(env or {})
        self.number = next(_server_counter)
        self._owns_dir = data_dir is None
        if data_dir is None:
            # Not created here: the server must create its data dir itself.
            data_dir = os.path.join(tempfile.mkdtemp(prefix="teamreg-e2e-"), "data")
        self.data_dir = data_dir
        if database is None and backend_kind() == "postgres":
            database = postgres().new_database()
        self.database = database
        self.log_path = os.path.join(_log_dir(), f"server-{self.number}.stderr.log")
        self.proc: subprocess.Popen | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.stdout_lines: list[str] = []
        self.exit_codes: list[int] = []
        self._log_offset = 0
        self._exit_expected = False
        if start:
            self.start()

    # -- process control --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [teamreg_bin(), "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"]
        if self.database:
            cmd += ["--database", self.database]
        if self.rate_limit is not None:
            cmd += ["--rate-limit", str(self.rate_limit)]
        return self.wrapper + cmd + self.args

    def start(self) -> None:
        assert not self.running, "server already running"
        cmd = self.command()
        env = server_environment(self.env)
        self._exit_expected = False
        with open(self.log_path, "ab") as log:
            log.write(f"==== start: {' '.join(cmd)}\n".encode())
            self._log_offset = log.tell()
        stderr = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                                         env=env)
        finally:
            stderr.close()
        _track(self.proc)
        self.stdout_lines = []
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump_lines, args=(self.proc.stdout, lines, self.stdout_lines),
                         daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                line = ""
            if line is None or (line == "" and self.proc.poll() is not None):
                code = self._reap(5)
                self._exit_expected = True  # reported here, not again at cleanup
                raise ServerStartError(f"teamreg exited with {code} before listening; stderr tail:\n"
                                       f"{self.stderr_tail()}")
            match = _LISTENING.fullmatch(line.rstrip("\n")) if line else None
            if match:
                self.port = int(match.group(2))
                return
            if time.monotonic() > deadline:
                self.kill9()
                raise ServerStartError(f"no 'listening on' line within {START_TIMEOUT_S}s; stdout so far "
                                       f"{self.stdout_lines!r}; stderr tail:\n{self.stderr_tail()}")

    def _reap(self, timeout: float) -> int | None:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        _untrack(self.proc)
        self.exit_codes.append(code)
        return code

    def stop(self, sig: int | None = signal.SIGTERM, check: bool = True) -> int:
        """Graceful stop; with check, anything but exit 0 with a clean log and one stdout line is a failure.
        sig=None waits for an exit that was already asked for."""
        assert self.proc is not None, "server never started"
        self._exit_expected = True
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self._reap(STOP_TIMEOUT_S)
        if code is None:
            self.kill9()
            raise AssertionError(f"teamreg did not exit within {STOP_TIMEOUT_S}s of signal {sig}; "
                                 f"stderr tail:\n{self.stderr_tail()}")
        if check:
            problems = []
            if code != 0:
                problems.append(f"exit code {code} after signal {sig} (expected 0)")
            report = self.sanitizer_report()
            if report:
                problems.append("sanitizer report:\n" + report)
            if len(self.stdout_lines) != 1:
                problems.append(f"stdout must be exactly the 'listening on' line, was {self.stdout_lines!r}")
            if problems:
                raise AssertionError("; ".join(problems) + f"\nstderr tail:\n{self.stderr_tail()}")
        return code

    def kill9(self) -> None:
        self._exit_expected = True
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self._reap(STOP_TIMEOUT_S)

    def restart(self, *args: str, rate_limit: int | None | str = "same") -> None:
        """Stop (gracefully, checked) if running, then start on the same data dir and database.
        New args replace the old extra args when given."""
        if self.running:
            self.stop()
        if args:
            self.args = list(args)
        if rate_limit != "same":
            self.rate_limit = rate_limit
        self.start()

    def cleanup(self) -> None:
        try:
            if self.running:
                self.stop()
            elif self.proc is not None and not self._exit_expected:
                code = self._reap(5)
                self._exit_expected = True
                raise AssertionError(f"teamreg died on its own with exit code {code}; "
                                     f"{self.sanitizer_report() or 'stderr tail:'}\n{self.stderr_tail()}")
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.kill9()
            if self._owns_dir and not _KEEP:
                shutil.rmtree(os.path.dirname(self.data_dir), ignore_errors=True)

    # -- logs ---------------------------------------------------------------------------------------------

    def stderr_text(self, whole: bool = False) -> str:
        try:
            with open(self.log_path, "rb") as f:
                if not whole:
                    f.seek(self._log_offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, lines: int = 40) -> str:
        return "\n".join(self.stderr_text(whole=True).splitlines()[-lines:])

    def sanitizer_report(self) -> str:
        text = self.stderr_text()
        hits = [i for i, l in enumerate(text.splitlines()) if any(m in l for m in SANITIZER_MARKERS)]
        if not hits:
            return ""
        return "\n".join(text.splitlines()[hits[0]:hits[0] + 40])

    # -- state ---------------------------------------------------------------------------------------------

    def backend(self) -> "Backend":
        if self.database and self.database.startswith("postgres"):
            return PostgresBackend(self.database)
        backend = SqliteBackend(self.data_dir)
        if self.database:
            backend.path = self.database
        return backend

    @property
    def staging_dir(self) -> str:
        return os.path.join(self.data_dir, "staging")

    @property
    def documents_dir(self) -> str:
        return os.path.join(self.data_dir, "documents")


def _pump_lines(stream, lines: queue.Queue, record: list) -> None:
    for raw in iter(stream.readline, b""):
        text = raw.decode("utf-8", "replace")
        record.append(text.rstrip("\n"))
        lines.put(text)
    lines.put(None)
    stream.close()


def tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def server_environment(extra: dict | None) -> dict:
    """This process's environment without TEAMREG_* settings a developer may have exported, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TEAMREG_") or k in ("TEAMREG_BIN", "TEAMREG_TEST_BACKEND", "TEAMREG_E2E_KEEP")}
    env.update(extra or {})
    return env


def run_cli(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run teamreg with arguments that should make it exit by itself (bad configuration and the like)."""
    full_env = server_environment(env)
    proc = subprocess.Popen([teamreg_bin()] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=full_env, text=True)
    _track(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        raise AssertionError(f"teamreg {' '.join(args)} did not exit within {timeout}s; stdout {out!r}; "
                             f"stderr {err[-2000:]!r}")
    finally:
        _untrack(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# ---------------------------------------------------------------------------------------------------------
# HTTP.

@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage | None
    body: bytes
    method: str = ""
    path: str = ""
    form: "Form | None" = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name) if self.headers is not None else None

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def team_id(self) -> str | None:
        body = self.json
        return body.get("team_id") if isinstance(body, dict) else None

    @property
    def error_code(self) -> str | None:
        body = self.json
        return body.get("error_code") if isinstance(body, dict) else None

    def describe(self) -> str:
        headers = dict(self.headers.items()) if self.headers is not None else {}
        return (f"{self.method} {self.path} -> {self.status} headers={headers} "
                f"body={self.body[:1500].decode('utf-8', 'replace')}")


def _default_headers(headers: dict | None) -> dict:
    merged = {"Origin": ORIGIN}
    merged.update(headers or {})
    return {k: v for k, v in merged.items() if v is not None}


def request(server: Server, method: str, path: str, body=None, headers: dict | None = None,
            timeout: float = REQUEST_TIMEOUT_S, chunked: bool = False) -> Response:
    """One request on a new connection. Sends a browser-like Origin header unless headers say Origin=None."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        hdrs = _default_headers(headers)
        if chunked:
            hdrs["Transfer-Encoding"] = "chunked"
            conn.request(method, path, body=body, headers=hdrs, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.msg, data, method, path)
    finally:
        conn.close()


def get(server: Server, path: str, **kw) -> Response:
    return request(server, "GET", path, **kw)


def send_streaming(server: Server, method: str, path: str, headers: dict, body: bytes, *,
                   chunked: bool = False, piece: int = 65536, timeout: float = 60,
                   content_length: int | None = None) -> Response:
    """Send a (large) request the way a careful client does: stop sending as soon as the server answers
    or closes, then read its answer. Used where the server is expected to refuse a body early."""
    sock = socket.create_connection((server.host, server.port), timeout=timeout)
    try:
        hdrs = _default_headers(headers)
        hdrs.setdefault("Host", f"{server.host}:{server.port}")
        if chunked:
            hdrs["Transfer-Encoding"] = "chunked"
        else:
            hdrs["Content-Length"] = str(len(body) if content_length is None else content_length)
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        deadline = time.monotonic() + timeout
        if _send_watching(sock, head.encode("latin-1"), deadline):
            for start in range(0, len(body), piece):
                data = body[start:start + piece]
                if chunked:
                    data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
                if not _send_watching(sock, data, deadline):
                    break
            else:
                if chunked:
                    _send_watching(sock, b"0\r\n\r\n", deadline)
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        return read_response(sock, method, path)
    finally:
        sock.close()


def read_response(sock: socket.socket, method: str, path: str = "") -> Response:
    """Read one HTTP response from a socket we wrote the request to ourselves."""
    resp = http.client.HTTPResponse(sock, method=method)
    resp.begin()
    data = resp.read()
    return Response(resp.status, resp.msg, data, method, path)


def _send_watching(sock: socket.socket, data: bytes, deadline: float) -> bool:
    """Send data unless the server speaks first; False when it did (or closed, or reset)."""
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("server neither read the request nor answered")
        readable, writable, _ = select.select([sock], [sock], [], remaining)
        if readable:
            return False
        if not writable:
            continue
        try:
            sent = sock.send(view[:65536], socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return False
        view = view[sent:]
    return True


# ---------------------------------------------------------------------------------------------------------
# Documents with real magic bytes. A tag makes contents (and sizes) differ between teams.

_JPEG_16PX = base64.b64decode(  # a 16x16 baseline JFIF image
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8Q"
    "EBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQID"
    "BAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/"
    "2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx"
    "4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+"
    "Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolv"
    "w4KOp1KM6iCNvngZHwetf//Z")


def pdf_bytes(tag: str = "", pad: int = 0) -> bytes:
    body = (b"%PDF-1.4\n"
            b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
            b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 72 72]>> endobj\n")
    body += f"% {tag}\n".encode() + b"%" + b"x" * pad + b"\n"
    return body + b"trailer <</Root 1 0 R>>\n%%EOF\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(tag: str = "") -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xcc\x33\x33")
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"tEXt", b"Comment\x00" + tag.encode())
            + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b""))


def jpeg_bytes(tag: str = "", pad: int = 0) -> bytes:
    """A JPEG with the tag (and pad filler bytes) in comment segments after SOI and the JFIF APP0."""
    payload = (tag.encode() or b"teamreg") + b"x" * pad
    segments = b"".join(b"\xff\xfe" + struct.pack(">H", len(chunk) + 2) + chunk
                        for chunk in (payload[i:i + 65000] for i in range(0, len(payload), 65000)))
    app0_end = 4 + struct.unpack(">H", _JPEG_16PX[4:6])[0]
    return _JPEG_16PX[:app0_end] + segments + _JPEG_16PX[app0_end:]


# ---------------------------------------------------------------------------------------------------------
# multipart/form-data.

@dataclass
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def is_file(self) -> bool:
        return self.filename is not None


class Form:
    """An ordered list of parts; its boundary is fixed at creation so that encoding is repeatable."""

    def __init__(self, boundary: str | None = None) -> None:
        self.parts: list[Part] = []
        self.boundary = boundary or f"----teamregE2E{uuid.uuid4().hex}"

    def text(self, name: str, value: str) -> "Form":
        self.parts.append(Part(name, value.encode("utf-8")))
        return self

    def file(self, name: str, data: bytes, filename: str, content_type: str) -> "Form":
        self.parts.append(Part(name, data, filename, content_type))
        return self

    def set(self, name: str, value: str) -> "Form":
        """Replace the text value of `name` (in place, keeping the order), or add it."""
        for part in self.parts:
            if part.name == name:
                part.data, part.filename, part.content_type = value.encode("utf-8"), None, None
                return self
        return self.text(name, value)

    def set_file(self, name: str, data: bytes, filename: str, content_type: str) -> "Form":
        self.remove(name)
        return self.file(name, data, filename, content_type)

    def remove(self, name: str) -> "Form":
        self.parts = [p for p in self.parts if p.name != name]
        return self

    def value(self, name: str) -> str | None:
        for part in self.parts:
            if part.name == name and not part.is_file:
                return part.data.decode("utf-8")
        return None

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def encode(self) -> bytes:
        out = []
        for p in self.parts:
            disposition = f'form-data; name="{p.name}"'
            if p.is_file:
                disposition += f'; filename="{p.filename}"'
            out.append(f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
            if p.content_type:
                out.append(f"Content-Type: {p.content_type}\r\n".encode())
            out.append(b"\r\n" + p.data + b"\r\n")
        out.append(f"--{self.boundary}--\r\n".encode())
        return b"".join(out)

    # -- what a committed team made from this form must look like --------------------------------------------

    def player_count(self) -> int:
        return sum(1 for p in self.parts if re.fullmatch(r"player_\d+_name", p.name))

    def documents(self) -> dict[str, int]:
        return {p.name: len(p.data) for p in self.parts if p.is_file}


_counter = itertools.count(1)
_counter_lock = threading.Lock()


def unique_number() -> int:
    with _counter_lock:
        return next(_counter)


def letters(n: int) -> str:
    """n as a capitalised word of letters (names may not contain digits)."""
    out = ""
    n += 26 * 27  # always at least three letters
    while n:
        n, r = divmod(n, 26)
        out = chr(ord("a") + r) + out
    return out.capitalize()


def phone(n: int, lead: str = "9") -> str:
    return f"{lead}{n % 10**9:09d}"


def make_team(players: int = 11, *, church: str | None = None, team_name: str | None = None,
              captain_email: str | None = None, captain_phone: str | None = None,
              documents: str = "full", boundary: str | None = None) -> Form:
    """A valid registration, unique in team name, church, e-mails and phones unless told otherwise.
    documents: "full" (pastor letter, receipt, photo, two player files) or "minimal" (pastor letter only)."""
    n = unique_number()
    word = letters(n)
    tag = f"{_RUN}-{n}"
    form = Form(boundary)
    form.text("team_name", team_name if team_name is not None else f"Team {word} {n}")
    form.text("church_name", church if church is not None else f"Church of {word}")
    form.text("captain_name", f"Captain {word}")
    form.text("captain_phone", captain_phone if captain_phone is not None else phone(n, "9"))
    form.text("captain_email", captain_email if captain_email is not None else f"captain.{n}.{_RUN}@example.com")
    form.text("captain_whatsapp", phone(n, "9"))
    form.text("vice_name", f"Vice {word}")
    form.text("vice_phone", phone(n, "8"))
    form.text("vice_email", f"vice.{n}.{_RUN}@example.org")
    form.text("vice_whatsapp", phone(n, "7"))
    for i in range(players):
        form.text(f"player_{i}_name", f"Player {letters(i)} {word}")
        form.text(f"player_{i}_role", ROLES[i % len(ROLES)])
    form.file("pastor_letter", pdf_bytes(tag, pad=n % 97), "pastor letter.pdf", "application/pdf")
    if documents == "full":
        form.file("payment_receipt", png_bytes(tag), "receipt.png", "image/png")
        form.file("group_photo", jpeg_bytes(tag), "team.jpg", "image/jpeg")
        if players > 0:
            form.file("player_0_aadhar_file", jpeg_bytes(tag + "-aadhar"), "aadhar.jpg", "image/jpeg")
        if players > 1:
            form.file("player_1_subscription_file", pdf_bytes(tag + "-sub"), "sub.pdf", "application/pdf")
    return form


def register(server: Server, form: Form | None = None, *, idempotency_key: str | None = None,
             headers: dict | None = None, path: str = REGISTRATION_PATH, timeout: float = REQUEST_TIMEOUT_S,
             **team) -> Response:
    """POST a registration (a fresh valid team unless a form is given). The response carries the form."""
    form = form if form is not None else make_team(**team)
    hdrs = {"Content-Type": form.content_type}
    if idempotency_key is not None:
        hdrs["Idempotency-Key"] = idempotency_key
    hdrs.update(headers or {})
    resp = request(server, "POST", path, body=form.encode(), headers=hdrs, timeout=timeout)
    resp.form = form
    return resp


# ---------------------------------------------------------------------------------------------------------
# Invalid registrations: each breaks exactly one rule of API.md and must get 400 VALIDATION_FAILED naming
# `field`. Shared by the validation, concurrency and crash tests.

FAKE_IMAGE = b"just some text that claims to be an image\n" * 8


@dataclass
class InvalidCase:
    description: str
    build: object  # () -> Form
    field: str


def _mutated(mutation):
    def build() -> Form:
        form = make_team()
        mutation(form)
        return form
    return build


def _extra_player_gap(form: Form) -> None:
    form.text("player_12_name", "Player After Gap").text("player_12_role", "Bowler")


INVALID_CASES = [
    InvalidCase("team_name shorter than 3 after trimming", _mutated(lambda f: f.set("team_name", "  ab  ")),
                "team_name"),
    InvalidCase("team_name longer than 80", _mutated(lambda f: f.set("team_name", "T" * 81)), "team_name"),
    InvalidCase("team_name with @", _mutated(lambda f: f.set("team_name", "Team @ Home")), "team_name"),
    InvalidCase("team_name blank", _mutated(lambda f: f.set("team_name", "    ")), "team_name"),
    InvalidCase("team_name missing", _mutated(lambda f: f.remove("team_name")), "team_name"),
    InvalidCase("church_name with digits", _mutated(lambda f: f.set("church_name", "Church 42")), "church_name"),
    InvalidCase("church_name shorter than 3", _mutated(lambda f: f.set("church_name", "Ch")), "church_name"),
    InvalidCase("church_name longer than 100", _mutated(lambda f: f.set("church_name", "C" * 101)), "church_name"),
    InvalidCase("church_name missing", _mutated(lambda f: f.remove("church_name")), "church_name"),
    InvalidCase("captain_name shorter than 3", _mutated(lambda f: f.set("captain_name", "Jo")), "captain_name"),
    InvalidCase("captain_name with digit", _mutated(lambda f: f.set("captain_name", "John 3")), "captain_name"),
    InvalidCase("captain_name with underscore", _mutated(lambda f: f.set("captain_name", "John_Doe")),
                "captain_name"),
    InvalidCase("vice_name longer than 50", _mutated(lambda f: f.set("vice_name", "V" * 51)), "vice_name"),
    InvalidCase("vice_name missing", _mutated(lambda f: f.remove("vice_name")), "vice_name"),
    InvalidCase("captain_phone with 9 digits", _mutated(lambda f: f.set("captain_phone", "987654321")),
                "captain_phone"),
    InvalidCase("captain_phone with 11 digits", _mutated(lambda f: f.set("captain_phone", "98765432101")),
                "captain_phone"),
    InvalidCase("captain_phone missing", _mutated(lambda f: f.remove("captain_phone")), "captain_phone"),
    InvalidCase("vice_phone with letters", _mutated(lambda f: f.set("vice_phone", "98765abcde")), "vice_phone"),
    InvalidCase("captain_email without @", _mutated(lambda f: f.set("captain_email", "not-an-email")),
                "captain_email"),
    InvalidCase("captain_email with a space", _mutated(lambda f: f.set("captain_email", "a b@example.com")),
                "captain_email"),
    InvalidCase("captain_email missing", _mutated(lambda f: f.remove("captain_email")), "captain_email"),
    InvalidCase("vice_email without domain", _mutated(lambda f: f.set("vice_email", "vice@")), "vice_email"),
    InvalidCase("captain_whatsapp with 5 digits", _mutated(lambda f: f.set("captain_whatsapp", "12345")),
                "captain_whatsapp"),
    InvalidCase("vice_whatsapp with letters", _mutated(lambda f: f.set("vice_whatsapp", "abcdefghij")),
                "vice_whatsapp"),
    InvalidCase("10 players", lambda: make_team(players=10), "players"),
    InvalidCase("16 players", lambda: make_team(players=16), "players"),
    InvalidCase("no players", lambda: make_team(players=0), "players"),
    InvalidCase("player index 12 while 11 is missing", _mutated(_extra_player_gap), "player_12_name"),
    InvalidCase("player role without a name", _mutated(lambda f: f.text("player_11_role", "Bowler")),
                "player_11_name"),
    InvalidCase("player role not in the list", _mutated(lambda f: f.set("player_2_role", "Captain")),
                "player_2_role"),
    InvalidCase("player name shorter than 2", _mutated(lambda f: f.set("player_4_name", "A")), "player_4_name"),
    InvalidCase("player name with digits", _mutated(lambda f: f.set("player_7_name", "Player 7")),
                "player_7_name"),
    InvalidCase("pastor_letter missing", _mutated(lambda f: f.remove("pastor_letter")), "pastor_letter"),
    InvalidCase("pastor_letter empty", _mutated(
        lambda f: f.set_file("pastor_letter", b"", "letter.pdf", "application/pdf")), "pastor_letter"),
    InvalidCase("pastor_letter sent as a text field", _mutated(lambda f: f.set("pastor_letter", "see attached")),
                "pastor_letter"),
    InvalidCase("pastor_letter is HTML named .pdf", _mutated(
        lambda f: f.set_file("pastor_letter", b"<html><body>letter</body></html>", "letter.pdf",
                             "application/pdf")), "pastor_letter"),
    InvalidCase("payment_receipt is text named .png", _mutated(
        lambda f: f.set_file("payment_receipt", FAKE_IMAGE, "receipt.png", "image/png")), "payment_receipt"),
    InvalidCase("group_photo is a GIF", _mutated(
        lambda f: f.set_file("group_photo", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "team.jpg",
                             "image/jpeg")), "group_photo"),
    InvalidCase("player file is text named .jpg", _mutated(
        lambda f: f.set_file("player_0_aadhar_file", FAKE_IMAGE, "aadhar.jpg", "image/jpeg")),
                "player_0_aadhar_file"),
    InvalidCase("unknown text field", _mutated(lambda f: f.text("favourite_colour", "blue")), "favourite_colour"),
    InvalidCase("unknown file field", _mutated(
        lambda f: f.file("player_0_photo", png_bytes(), "p.png", "image/png")), "player_0_photo"),
    InvalidCase("team_name twice", _mutated(lambda f: f.text("team_name", "Second Name")), "team_name"),
    InvalidCase("pastor_letter twice", _mutated(
        lambda f: f.file("pastor_letter", pdf_bytes("again"), "again.pdf", "application/pdf")), "pastor_letter"),
]


def invalid_case(description_prefix: str) -> InvalidCase:
    matches = [c for c in INVALID_CASES if c.description.startswith(description_prefix)]
    assert len(matches) == 1, description_prefix
    return matches[0]


def outcome(resp) -> tuple:
    """(status, error_code, details.field) of a response; (0, error, None) when there was no answer."""
    if isinstance(resp, Failed):
        return (0, type(resp.error).__name__, None)
    body = resp.json if isinstance(resp.json, dict) else {}
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    return (resp.status, body.get("error_code"), details.get("field"))


# ---------------------------------------------------------------------------------------------------------
# Running things at once.

@dataclass
class Failed:
    """A request that got no HTTP answer (connection refused/reset, timeout)."""
    error: BaseException
    form: Form | None = None
    status: int = 0

    def describe(self) -> str:
        return f"no answer: {type(self.error).__name__}: {self.error}"


def run_concurrently(fn, items, workers: int, timeout: float = 300, start_together: bool = False) -> list:
    """fn(item) for every item on `workers` threads; results in item order. An exception becomes a Failed.
    start_together makes up to `workers` calls begin at the same instant (a barrier)."""
    items = list(items)
    barrier = threading.Barrier(min(workers, len(items))) if start_together and items else None

    def call(item):
        if barrier is not None:
            try:
                barrier.wait(timeout=60)
            except threading.BrokenBarrierError:
                pass
        try:
            return fn(item)
        except Exception as e:  # connection-level failures are data for the caller
            return Failed(e, item if isinstance(item, Form) else None)

    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(call, item) for item in items]
        return [f.result(timeout=max(1.0, deadline - time.monotonic())) for f in futures]


class Load:
    """Registrations of `forms` on `workers` threads in the background (spread round-robin over servers),
    so that a test can disrupt the server(s) while they run."""

    def __init__(self, servers: list[Server], forms: list[Form], workers: int, timeout: float = 60) -> None:
        self.servers, self.forms, self.workers, self.timeout = servers, forms, workers, timeout
        self.acknowledged: list[Response] = []
        self.results: list = []
        self.stop_sending = threading.Event()
        self._acked = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Load":
        self._thread.start()
        return self

    def _attempt(self, indexed):
        index, form = indexed
        if self.stop_sending.is_set():
            return Failed(RuntimeError("not sent"), form)
        try:
            resp = register(self.servers[index % len(self.servers)], form, timeout=self.timeout)
        except Exception as e:  # the server went away mid-request: no answer, outcome unknown
            return Failed(e, form)
        if resp.status == 201:
            with self._acked:
                self.acknowledged.append(resp)
                self._acked.notify_all()
        return resp

    def _run(self) -> None:
        self.results = run_concurrently(self._attempt, list(enumerate(self.forms)), self.workers,
                                        timeout=600)

    def wait_for_acks(self, count: int, timeout: float) -> bool:
        with self._acked:
            return self._acked.wait_for(lambda: len(self.acknowledged) >= count, timeout=timeout)

    def join(self, timeout: float = 300) -> list:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"load did not finish within {timeout}s")
        return self.results


# ---------------------------------------------------------------------------------------------------------
# Stored state.

class Backend:
    """Read access to the server's database, for checking invariants. Values come back as str or None."""

    def rows(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def execute(self, sql: str) -> None:
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        raise NotImplementedError

    def scalar(self, sql: str):
        rows = self.rows(sql)
        return rows[0][0] if rows else None

    def team_count(self) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM teams"))

    def teams(self) -> list[dict]:
        keys = ("team_id", "number", "team_name", "church_name", "captain_email", "status", "request_uuid")
        rows = self.rows(f"SELECT {', '.join(keys)} FROM teams ORDER BY number")
        teams = [dict(zip(keys, row)) for row in rows]
        for team in teams:
            team["number"] = int(team["number"])
        return teams

    def team(self, team_id: str) -> dict | None:
        for t in self.teams():
            if t["team_id"] == team_id:
                return t
        return None

    def players(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for pid, tid, pos, name, role in self.rows(
                "SELECT player_id, team_id, position, name, role FROM players ORDER BY team_id, position"):
            out.setdefault(tid, []).append({"player_id": pid, "position": int(pos), "name": name, "role": role})
        return out

    def documents(self) -> dict[str, dict[str, dict]]:
        out: dict[str, dict[str, dict]] = {}
        for tid, fld, key, ctype, size in self.rows(
                "SELECT team_id, field, storage_key, content_type, size_bytes FROM documents"):
            out.setdefault(tid, {})[fld] = {"storage_key": key, "content_type": ctype, "size_bytes": int(size)}
        return out

    def sequence(self) -> dict:
        row = self.rows("SELECT prefix, min_width, last_number FROM id_sequences WHERE name = 'team'")
        if not row:
            return {}
        prefix, width, last = row[0]
        return {"prefix": prefix, "min_width": int(width), "last_number": int(last)}


class SqliteBackend(Backend):
    def __init__(self, data_dir: str) -> None:
        self.path = os.path.join(data_dir, "teamreg.db")

    def execute(self, sql: str) -> None:
        """Write by hand (only while the server is stopped: it owns the file while it runs)."""
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.executescript(sql)
            conn.commit()
        finally:
            conn.close()

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.rows(f"PRAGMA table_info({table})")]

    def rows(self, sql: str) -> list[tuple]:
        if not os.path.exists(self.path):
            raise AssertionError(f"no database at {self.path}")
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return [tuple(None if v is None else str(v) for v in row) for row in conn.execute(sql)]
        finally:
            conn.close()


class PostgresBackend(Backend):
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def execute(self, sql: str) -> None:
        run_psql(self.dsn, sql)

    def columns(self, table: str) -> list[str]:
        return [row[0] for row in self.rows(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name = '{table}' AND is_identity = 'NO' "
            "AND coalesce(column_default, '') NOT LIKE 'nextval%' ORDER BY ordinal_position")]

    def rows(self, sql: str) -> list[tuple]:
        out = run_psql(self.dsn, sql)
        return [tuple(None if v == "\\N" else v for v in line.split("\t")) for line in out.splitlines() if line]


def make_backend(server: Server) -> Backend:
    return server.backend()


# ---------------------------------------------------------------------------------------------------------
# Invariants.

_MAGIC = {"application/pdf": b"%PDF", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


@dataclass
class Expected:
    """What an acknowledged (201) registration must have left in the database and on disk."""
    team_id: str
    team_name: str
    captain_email: str
    player_count: int
    documents: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, resp: Response) -> "Expected":
        assert resp.status == 201 and resp.form is not None, resp.describe()
        form = resp.form
        return cls(resp.team_id, form.value("team_name").strip(), form.value("captain_email").strip().lower(),
                   form.player_count(), form.documents())


def document_file(data_dir: str, storage_key: str) -> str | None:
    """The file a storage key names, in documents/ or (not yet promoted) staging/, or None."""
    if not storage_key or os.path.isabs(storage_key) or ".." in storage_key.split("/") or "\x00" in storage_key:
        return None
    # Promotion renames staging -> documents at any moment: look in documents/ again after staging/.
    for sub in ("documents", "staging", "documents"):
        path = os.path.join(data_dir, sub, storage_key)
        if os.path.isfile(path):
            return path
    return None


def _stat_document(data_dir: str, storage_key: str) -> tuple[int, bytes] | None:
    """(size, first bytes) of a stored document, tolerating a promotion rename in between."""
    for _ in range(3):
        path = document_file(data_dir, storage_key)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                return os.fstat(f.fileno()).st_size, f.read(8)
        except FileNotFoundError:
            continue
    return None


def staged_files(data_dir: str) -> list[str]:
    """Files under staging/, as paths relative to it."""
    root = os.path.join(data_dir, "staging")
    out = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


def unreferenced_staged_files(backend: Backend, data_dir: str) -> list[str]:
    referenced = {d["storage_key"] for docs in backend.documents().values() for d in docs.values()}
    return [f for f in staged_files(data_dir) if f not in referenced]


def wait_for_clean_staging(backend: Backend, data_dir: str, timeout: float = 10) -> list[str]:
    """Poll until staging/ holds only files that committed teams reference; returns what is left."""
    deadline = time.monotonic() + timeout
    while True:
        left = unreferenced_staged_files(backend, data_dir)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.25)


def check_invariants(backend: Backend, data_dir: str, acknowledged=(), prefix: str = DEFAULT_PREFIX,
                     width: int = DEFAULT_WIDTH, staging_clean: bool = False,
                     stat_document=None) -> list[str]:
    """Every way the stored state breaks DESIGN.md's invariants, as messages (empty when all hold).
    stat_document(storage_key) -> (size, first bytes) | None: where documents are read back from (default:
    the data dir's documents/ and staging/; an object store's tests pass their own)."""
    if stat_document is None:
        def stat_document(key):
            return _stat_document(data_dir, key)
    problems: list[str] = []
    teams = backend.teams()
    numbers = [t["number"] for t in teams]
    if numbers != list(range(1, len(teams) + 1)):
        missing = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
        dups = sorted({n for n in numbers if numbers.count(n) > 1})
        problems.append(f"team numbers are not exactly 1..{len(teams)}: missing {missing[:20]}, "
                        f"duplicated {dups[:20]}, max {max(numbers, default=0)}")
    ids = [t["team_id"] for t in teams]
    if len(set(ids)) != len(ids):
        problems.append("duplicate team_id values in teams")
    for t in teams:
        if t["team_id"] != format_team_id(t["number"], prefix, width):
            problems.append(f"team number {t['number']} has team_id {t['team_id']!r}")
        if t["status"] not in ("pending", "confirmed", "rejected"):
            problems.append(f"{t['team_id']} has status {t['status']!r}")
    sequence = backend.sequence()
    if sequence.get("last_number") != len(teams):
        problems.append(f"id_sequences 'team' is {sequence} but {len(teams)} teams are stored")

    players = backend.players()
    for t in teams:
        tid = t["team_id"]
        plist = players.get(tid, [])
        positions = [p["position"] for p in plist]
        if positions != list(range(1, len(plist) + 1)):
            problems.append(f"{tid} player positions {positions}")
        for p in plist:
            if p["player_id"] != f"{tid}-P{p['position']:02d}":
                problems.append(f"{tid} position {p['position']} has player_id {p['player_id']!r}")
    orphans = set(players) - set(ids)
    if orphans:
        problems.append(f"players of teams that do not exist: {sorted(orphans)[:10]}")

    documents = backend.documents()
    for tid, docs in documents.items():
        if tid not in ids:
            problems.append(f"documents of a team that does not exist: {tid}")
        for name, doc in docs.items():
            found = stat_document(doc["storage_key"])
            if found is None:
                problems.append(f"{tid} {name}: file {doc['storage_key']!r} missing")
                continue
            size, head = found
            if size != doc["size_bytes"]:
                problems.append(f"{tid} {name}: file has {size} bytes, row says {doc['size_bytes']}")
            magic = _MAGIC.get(doc["content_type"])
            if magic is None or not head.startswith(magic):
                problems.append(f"{tid} {name}: content_type {doc['content_type']!r} but file starts {head!r}")

    by_id = {t["team_id"]: t for t in teams}
    for exp in acknowledged:
        if isinstance(exp, Response):
            exp = Expected.of(exp)
        team = by_id.get(exp.team_id)
        if team is None:
            problems.append(f"acknowledged {exp.team_id} ({exp.team_name}) is not stored")
            continue
        if (team["team_name"], team["captain_email"]) != (exp.team_name, exp.captain_email):
            problems.append(f"{exp.team_id} was acknowledged for {exp.team_name}/{exp.captain_email} but holds "
                            f"{team['team_name']}/{team['captain_email']}")
        count = len(players.get(exp.team_id, []))
        if count != exp.player_count:
            problems.append(f"{exp.team_id}: {count} players stored, {exp.player_count} sent")
        stored = {k: v["size_bytes"] for k, v in documents.get(exp.team_id, {}).items()}
        if stored != exp.documents:
            problems.append(f"{exp.team_id}: documents stored {stored}, sent {exp.documents}")

    if staging_clean:
        left = unreferenced_staged_files(backend, data_dir)
        if left:
            problems.append(f"{len(left)} staged files no team references: {left[:10]}")
    return problems


def assert_invariants(backend: Backend, data_dir: str, acknowledged=(), **kw) -> None:
    """check_invariants for code outside a TestCase (benchmarks, ad-hoc scripts)."""
    problems = check_invariants(backend, data_dir, acknowledged, **kw)
    if problems:
        raise AssertionError(f"{len(problems)} invariant violations:\n" + "\n".join(problems[:40]))


# ---------------------------------------------------------------------------------------------------------
# Test case base.

class E2ETestCase(unittest.TestCase):
    """Starts servers that are stopped (exit 0 checked) and removed after the test; on failure prints the
    stderr tail of every server the test used."""

    _class_servers: list[Server] = []

    def run(self, result=None):
        self._servers: list[Server] = []
        self._smtp_captures: list = []
        before = _problem_count(result)
        outcome = super().run(result)
        if result is not None and _problem_count(result) > before:
            global _failures_seen
            _failures_seen = True
            for server in self._servers + type(self)._class_servers:
                sys.stderr.write(f"\n---- {self.id()}: server {server.number} (data dir {server.data_dir}, "
                                 f"log {server.log_path}) stderr tail ----\n{server.stderr_tail()}\n")
            for capture in self._smtp_captures:
                sys.stderr.write(f"\n---- {self.id()}: SMTP capture {capture.number} (port {capture.port}, "
                                 f"log {capture.log_path}) log tail ----\n{capture.log_tail()}\n")
        return outcome

    def start_server(self, *args: str, **kw) -> Server:
        server = Server(*args, start=False, **kw)
        self._servers.append(server)
        self.addCleanup(server.cleanup)
        server.start()
        return server

    def start_smtp_capture(self, mode: str | None = None, delay_data: float | None = None,
                           start: bool = True, auth: str | None = None) -> "SmtpCapture":
        """An SMTP capture server stopped and removed after the test (after the servers that use it)."""
        capture = SmtpCapture(mode, delay_data, start=False, auth=auth)
        self._smtp_captures.append(capture)
        self.addCleanup(capture.cleanup)
        if start:
            capture.start()
        return capture

    @classmethod
    def start_class_server(cls, *args: str, **kw) -> Server:
        server = Server(*args, start=False, **kw)
        cls._class_servers = cls._class_servers + [server]
        cls.addClassCleanup(server.cleanup)
        server.start()
        return server

    # -- assertions ---------------------------------------------------------------------------------------

    def assertCors(self, resp: Response, origin: str = "*") -> None:
        self.assertEqual(resp.header("Access-Control-Allow-Origin"), origin,
                         f"Access-Control-Allow-Origin: {resp.describe()}")
        self.assertNotEqual((resp.header("Access-Control-Allow-Credentials") or "").lower(), "true",
                            "credentials must never be allowed")

    def assertRequestId(self, resp: Response) -> None:
        rid = resp.header("X-Request-ID")
        self.assertTrue(rid, f"X-Request-ID missing: {resp.describe()}")

    def assertCreated(self, resp: Response, team_id: str | None = None) -> str:
        self.assertNotIsInstance(resp, Failed, getattr(resp, "describe", lambda: "")())
        self.assertEqual(resp.status, 201, resp.describe())
        body = resp.json
        self.assertIsInstance(body, dict, resp.describe())
        self.assertIs(body.get("success"), True, resp.describe())
        self.assertIsInstance(body.get("team_id"), str, resp.describe())
        if team_id is not None:
            self.assertEqual(body["team_id"], team_id, resp.describe())
        self.assertRequestId(resp)
        self.assertCors(resp)
        return body["team_id"]

    def assertError(self, resp: Response, status: int, error_code: str | None = None,
                    field_name: str | None = None) -> dict:
        self.assertNotIsInstance(resp, Failed, getattr(resp, "describe", lambda: "")())
        self.assertEqual(resp.status, status, resp.describe())
        body = resp.json
        self.assertIsInstance(body, dict, f"error body is not JSON: {resp.describe()}")
        self.assertIs(body.get("success"), False, resp.describe())
        self.assertRegex(body.get("error_code") or "", r"^[A-Z][A-Z0-9_]*$", resp.describe())
        self.assertIsInstance(body.get("message"), str, resp.describe())
        self.assertTrue(body["message"], resp.describe())
        self.assertIsInstance(body.get("details"), dict, resp.describe())
        self.assertRequestId(resp)
        self.assertEqual(body.get("request_id"), resp.header("X-Request-ID"), resp.describe())
        self.assertCors(resp)
        if error_code is not None:
            self.assertEqual(body["error_code"], error_code, resp.describe())
        if field_name is not None:
            self.assertEqual(body["details"].get("field"), field_name, resp.describe())
        return body

    def assertOutcomes(self, pairs) -> None:
        """pairs of (response, (status, error_code, field)); a None in the expectation matches anything.
        Reports every mismatch at once."""
        wrong = []
        for resp, expected in pairs:
            got = outcome(resp)
            if any(e is not None and e != g for e, g in zip(expected, got)):
                wrong.append(f"expected {expected}, got {got}: {resp.describe()}")
        if wrong:
            self.fail(f"{len(wrong)} of {len(pairs)} responses were wrong:\n" + "\n".join(wrong[:25]))

    def assertInvariants(self, server: Server, acknowledged=(), **kw) -> None:
        problems = check_invariants(server.backend(), server.data_dir, acknowledged, **kw)
        if problems:
            self.fail(f"{len(problems)} invariant violations:\n" + "\n".join(problems[:40]))


def _problem_count(result) -> int:
    if result is None:
        return 0
    return len(result.failures) + len(result.errors) + len(getattr(result, "unexpectedSuccesses", []))


def shuffled(items, seed: int = 26) -> list:
    items = list(items)
    random.Random(seed).shuffle(items)
    return items


# =========================================================================================================
# Admin API (issue 4): tokens through the real CLI, authenticated requests, rows written by hand.
# Added by the admin tests; nothing above depends on it.

def db_args(server: Server) -> list[str]:
    """--data-dir/--database flags that point a CLI command at the server's database."""
    args = ["--data-dir", server.data_dir]
    if server.database:
        args += ["--database", server.database]
    return args


def teamreg_cli(server: Server, *args: str, env: dict | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    """`teamreg <args> --data-dir … [--database …]` against the server's database (it may be running)."""
    return run_cli(*args, *db_args(server), env=env, timeout=timeout)


def create_admin_token(server: Server, name: str | None = None) -> str:
    """A new admin token made by `teamreg admin token create`; returns the token it printed."""
    name = name or f"tester-{unique_number()}"
    result = teamreg_cli(server, "admin", "token", "create", "--name", name)
    if result.returncode != 0:
        raise AssertionError(f"admin token create exited {result.returncode}: {result.stderr[-2000:]}")
    token = result.stdout.strip()
    if not re.fullmatch(r"[0-9a-f]{64}", token):
        raise AssertionError(f"admin token create printed {result.stdout!r}, not a token")
    return token


def admin_request(server: Server, method: str, path: str, token: str | None, body=None,
                  headers: dict | None = None, **kw) -> Response:
    """A request with `Authorization: Bearer <token>` (no Authorization header when token is None)."""
    hdrs = {"Content-Type": "application/json"}
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    hdrs.update(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    return request(server, method, path, body=body, headers=hdrs, **kw)


def execute_sql(server: Server, sql: str) -> None:
    """Writes to the server's database by hand, e.g. rows that the API would refuse: one transaction."""
    sql = "BEGIN;\n" + sql.rstrip().rstrip(";") + ";\nCOMMIT;\n"
    if server.database and server.database.startswith("postgres"):
        run_psql(server.database, sql)
        return
    conn = sqlite3.connect(os.path.join(server.data_dir, "teamreg.db"), timeout=30)
    try:
        conn.executescript(sql)
        conn.commit()
    finally:
        conn.close()


def sql_literal(value) -> str:
    """A SQL literal for hand-written statements in tests (both dialects)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert_team_by_hand(server: Server, team_id: str, number: int, **fields) -> None:
    """A team (and its players) inserted straight into the database, bypassing validation."""
    execute_sql(server, hand_team_sql(team_id, number, **fields))


def hand_team_sql(team_id: str, number: int, *, team_name: str = "Hand Team", church_name: str = "Hand Church",
                  captain_name: str = "Hand Captain", captain_email: str | None = None,
                  players: list[tuple[str, str]] = (), status: str = "pending") -> str:
    """The INSERT statements of insert_team_by_hand, for several teams in one execute_sql."""
    email = captain_email or f"hand.{team_id.lower()}.{_RUN}@example.com"
    n = unique_number()
    values = [team_id, "team", number, str(uuid.uuid4()), team_name, f"hand team {n}", church_name,
              f"hand church {n}", captain_name, phone(n, "6"), email, "", "Hand Vice", phone(n, "5"),
              f"vice.{email}", "", status, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"]
    sql = ("INSERT INTO teams (team_id, sequence_name, number, request_uuid, team_name, team_key, church_name,"
           " church_key, captain_name, captain_phone, captain_email, captain_whatsapp, vice_name, vice_phone,"
           " vice_email, vice_whatsapp, status, created_at, updated_at) VALUES ("
           + ", ".join(sql_literal(v) for v in values) + ");\n")
    for position, (name, role) in enumerate(players, start=1):
        sql += ("INSERT INTO players (player_id, team_id, position, name, role) VALUES ("
                + ", ".join(sql_literal(v) for v in (f"{team_id}-P{position:02d}", team_id, position, name, role))
                + ");\n")
    return sql


# =========================================================================================================
# E-mail (issue 6): a real SMTP server that stores what it accepts, for the outbox tests.
# Added by the e-mail tests; nothing above depends on it.

SMTP_CAPTURE_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "smtp",
                                   "capture_server.py")
_LISTENING_SMTP = re.compile(r"listening on (\d+)")
_smtp_counter = itertools.count(1)


def smtp_python() -> str:
    """The interpreter with aiosmtpd: Debian's, not whichever python3 is first on PATH."""
    return os.environ.get("TEAMREG_SMTP_PYTHON") or "/usr/bin/python3"


class SmtpCapture:
    """tests/smtp/capture_server.py on 127.0.0.1 with a mail dir of its own.

    mode: None (accept), "reject" (550) or "tempfail" (451). delay_data: seconds the server waits inside
    DATA before storing and answering. stop() and start() again keep the port and the mail dir, so a client
    configured with .url reaches the restarted server; start(mode=...) changes the mode."""

    def __init__(self, mode: str | None = None, delay_data: float | None = None, start: bool = True,
                 auth: str | None = None) -> None:
        """auth: "USER:PASSWORD" makes the server require AUTH (without TLS: loopback tests only)."""
        self.mode = mode
        self.delay_data = delay_data
        self.auth = auth
        self.number = next(_smtp_counter)
        self.root = tempfile.mkdtemp(prefix="teamreg-e2e-smtp-")
        self.dir = os.path.join(self.root, "mail")
        os.makedirs(self.dir)
        self.log_path = os.path.join(_log_dir(), f"smtp-{self.number}.stderr.log")
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        if start:
            self.start()

    @property
    def url(self) -> str:
        assert self.port is not None, "the capture server never started, so it has no port yet"
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, mode: str | None | bool = False, delay_data: float | None | bool = False) -> None:
        """Start (again, on the same port once it had one). mode/delay_data replace the old ones when given."""
        assert not self.running, "SMTP capture server already running"
        if mode is not False:
            self.mode = mode
        if delay_data is not False:
            self.delay_data = delay_data
        if self.mode not in (None, "reject", "tempfail"):
            raise ValueError(f"unknown SMTP capture mode {self.mode!r}")
        argv = [smtp_python(), SMTP_CAPTURE_SCRIPT, "--dir", self.dir, "--port", str(self.port or 0)]
        if self.mode:
            argv.append(f"--{self.mode}")
        if self.delay_data:
            argv += ["--delay-data", str(self.delay_data)]
        if self.auth:
            argv += ["--auth", self.auth]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
        last_error = ""
        for _ in range(3):  # a just-closed port can take a moment to be free for a new listener
            with open(self.log_path, "ab") as log:
                log.write(f"==== start: {' '.join(argv)}\n".encode())
            stderr = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                             env=env)
            finally:
                stderr.close()
            _track(self.proc)
            line = self._read_line(START_TIMEOUT_S)
            match = _LISTENING_SMTP.fullmatch(line.strip())
            if match and (self.port is None or int(match.group(1)) == self.port):
                self.port = int(match.group(1))
                return
            last_error = f"first stdout line {line!r}"
            self._end(kill=True)
            time.sleep(0.5)
        raise AssertionError(f"the SMTP capture server did not start ({last_error}; is python3-aiosmtpd installed "
                             f"for {smtp_python()}?); log tail:\n{tail(self.log_path)}")

    def _read_line(self, timeout: float) -> str:
        fd = self.proc.stdout.fileno()
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 1)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace")

    def _end(self, kill: bool) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.close()  # EOF on stdin: the server closes its socket and exits
        except OSError:
            pass
        if kill and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)  # only the process this object started
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        _untrack(proc)

    def stop(self) -> None:
        """Stop accepting connections; the port and the stored mail stay for start()."""
        self._end(kill=False)

    def cleanup(self) -> None:
        self._end(kill=False)
        if not _KEEP:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- what arrived ----------------------------------------------------------------------------------------

    def _summaries(self) -> list[str]:
        return sorted(n for n in os.listdir(self.dir) if n.endswith(".json"))

    def messages(self) -> list[dict]:
        """Every accepted message as capture_server.py summarised it (its .json), in the order of arrival."""
        out = []
        for name in self._summaries():
            with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                out.append(json.load(f))
        return out

    def raw_messages(self) -> list[bytes]:
        """The .eml bytes of the same messages, in the same order."""
        out = []
        for name in self._summaries():
            with open(os.path.join(self.dir, name[:-len(".json")] + ".eml"), "rb") as f:
                out.append(f.read())
        return out

    def data_started(self) -> list[str]:
        """The Message-ID of every message whose DATA the server received (stored or not), in order."""
        try:
            with open(os.path.join(self.dir, "data-started.log"), encoding="utf-8") as f:
                return [line.rstrip("\n") for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        """Poll until at least count messages arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            mails = self.messages()
            if len(mails) >= count:
                return mails
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} message(s) expected within {timeout}s, {len(mails)} arrived "
                    f"(subjects {[m.get('subject') for m in mails][:20]}); capture log tail:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)
