#!/usr/bin/env python3
"""Soak traffic, sampling and end checks against one running teamreg (bench/soak.sh starts it).

Mixed traffic from --clients threads, each request on a new connection from a random client address
in X-Forwarded-For (the server trusts 127.0.0.1 as a proxy): registrations with five documents,
keyed registrations replayed with their Idempotency-Key, invalid forms, clients that hang up halfway
through an upload, public reads, admin reads (lists, details, documents, audit, CSV) and confirms.
Every request must get exactly its expected status. Every 30 s of the main traffic two
orphaned files older than the staging TTL are planted in staging for the sweeper. Every --sample
seconds one table row.

Phases: warm-up (traffic, --warmup s), idle (baseline row), traffic (--seconds), settle (no traffic
until the planted orphans are swept, at most --settle s), final row. Checks, exit 1 on any failure:
threads, staged files and bytes back to the baseline; open fds back to the baseline but for the
database connections the pools opened since (they open lazily and keep their connections);
PostgreSQL connections within the pools' caps; heap in use (glibc) outside SQLite within
--heap-slack-mib, SQLite's own memory within its limit (16 MiB) and --sqlite-slack-mib; RSS
within --rss-slack-mib; every planted orphan swept; the acknowledged IDs exactly 1..N (N the
sequence's last number); every team listed by /admin/teams, with 11 players and its documents.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))

import harness as h  # noqa: E402

MIB = 1024 * 1024
PG_POOL_CAP = 8 + 1 + 4 + 2  # reads, committer, admin, outbox (app/stores.cpp, storage/postgres)
SQLITE_MEMORY_LIMIT_MIB = 16  # storage::sqlite::kMemoryLimitBytes
ORPHANS_EVERY_S = 30


class Soak:
    def __init__(self, args) -> None:
        self.args = args
        self.server = SimpleNamespace(host="127.0.0.1", port=args.port)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: Counter = Counter()  # (op, status) -> count
        self.failures: list[str] = []
        self.acknowledged: dict[str, str] = {}  # team ID -> captain e-mail
        self.pending: list[str] = []  # acknowledged, not yet confirmed
        self.confirmed = 0
        self.planted = 0
        self.requests = 0
        self.rows: list[dict] = []

    # -- traffic -----------------------------------------------------------------------------------------

    def headers(self, extra: dict | None = None) -> dict:
        r = random.getrandbits(24)
        hdrs = {"X-Forwarded-For": f"10.{r >> 16}.{(r >> 8) & 255}.{r & 255}"}
        hdrs.update(extra or {})
        return hdrs

    def expect(self, op: str, resp: h.Response, status: int) -> bool:
        with self.lock:
            self.outcomes[(op, resp.status)] += 1
            self.requests += 1
            if resp.status != status and len(self.failures) < 1000:
                self.failures.append(f"{op}: wanted {status}, got {resp.describe()[:400]}")
        return resp.status == status

    def acknowledge(self, resp: h.Response) -> None:
        team_id = resp.team_id
        with self.lock:
            if not team_id:
                self.failures.append(f"201 without team_id: {resp.describe()[:400]}")
            elif team_id in self.acknowledged:
                self.failures.append(f"{team_id} acknowledged twice: {resp.describe()[:400]}")
            else:
                self.acknowledged[team_id] = resp.form.value("captain_email")
                self.pending.append(team_id)

    def known_id(self) -> str | None:
        with self.lock:
            return random.choice(self.pending) if self.pending else None

    def op_register(self) -> None:
        resp = h.register(self.server, headers=self.headers())
        if self.expect("register", resp, 201):
            self.acknowledge(resp)

    def op_replay(self) -> None:
        key = f"soak-{uuid.uuid4()}"
        first = h.register(self.server, idempotency_key=key, headers=self.headers(), documents="minimal")
        if not self.expect("register+key", first, 201):
            return
        self.acknowledge(first)
        again = h.register(self.server, first.form, idempotency_key=key, headers=self.headers())
        if self.expect("replay", again, 201) and (
                again.team_id != first.team_id or again.header("Idempotent-Replayed") != "true"):
            with self.lock:
                self.failures.append(f"replay of {first.team_id}: {again.describe()[:400]}")

    def op_invalid(self) -> None:
        if random.random() < 0.5:
            form = h.make_team(players=3)
        else:
            form = h.make_team().set_file("group_photo", h.FAKE_IMAGE, "team.jpg", "image/jpeg")
        resp = h.register(self.server, form, headers=self.headers())
        if self.expect("invalid", resp, 400) and resp.error_code != "VALIDATION_FAILED":
            with self.lock:
                self.failures.append(f"invalid form: {resp.describe()[:400]}")

    def op_hang_up(self) -> None:
        """Send the headers and part of the body of a valid registration, then close (half of the
        time with a reset): the server must drop the staged files at once."""
        form = h.make_team()
        body = form.encode()
        hdrs = h._default_headers(self.headers({"Content-Type": form.content_type}))
        head = (f"POST {h.REGISTRATION_PATH} HTTP/1.1\r\nHost: {self.server.host}:{self.server.port}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
                + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
        cut = random.randint(len(body) // 4, len(body) * 3 // 4)
        with socket.create_connection((self.server.host, self.server.port), timeout=30) as sock:
            sock.sendall(head + body[:cut])
            time.sleep(random.uniform(0, 0.2))
            if random.random() < 0.5:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self.lock:
            self.outcomes[("hang-up", 0)] += 1
            self.requests += 1

    def op_public_read(self) -> None:
        team_id = self.known_id()
        path = random.choice(["/api/teams?limit=20&offset=%d" % random.randint(0, max(0, len(self.acknowledged) - 20)),
                              f"/api/teams/{team_id}" if team_id else "/health",
                              "/api/churches/availability", "/health", "/ready"])
        self.expect("public read", h.get(self.server, path, headers=self.headers()), 200)

    def op_admin_read(self) -> None:
        team_id = self.known_id() or "ICCT-001"
        path = random.choice(["/admin/teams?limit=50", f"/admin/teams/{team_id}",
                              f"/admin/teams/{team_id}/files/pastor_letter",
                              "/admin/audit?limit=20",
                              "/admin/sequence/current", "/admin/teams?status=pending&limit=20&q=team"])
        if not self.acknowledged and "ICCT-001" in path:
            path = "/admin/teams?limit=50"
        resp = h.admin_request(self.server, "GET", path, self.args.token, headers=self.headers())
        self.expect("admin read", resp, 200)

    def op_confirm(self) -> None:
        with self.lock:
            if not self.pending:
                return
            team_id = self.pending.pop(random.randrange(len(self.pending)))
        resp = h.admin_request(self.server, "PUT", f"/admin/teams/{team_id}/confirm", self.args.token,
                               headers=self.headers())
        if self.expect("confirm", resp, 200):
            with self.lock:
                self.confirmed += 1

    def op_export(self) -> None:
        resp = h.admin_request(self.server, "GET", "/admin/export.csv", self.args.token, headers=self.headers())
        self.expect("export", resp, 200)

    def client(self) -> None:
        ops = [(self.op_register, 30), (self.op_replay, 10), (self.op_invalid, 10), (self.op_hang_up, 8),
               (self.op_public_read, 25), (self.op_admin_read, 10), (self.op_confirm, 6), (self.op_export, 0.2)]
        funcs, weights = zip(*ops)
        interval = self.args.clients / self.args.rate
        next_at = time.monotonic() + random.uniform(0, interval)
        while not self.stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
                continue
            next_at = max(next_at + interval, time.monotonic() - 1)  # catch up at most 1 s
            op = random.choices(funcs, weights)[0]
            try:
                op()
            except Exception as e:  # noqa: BLE001 - a refused connection or timeout is a failure to report
                with self.lock:
                    self.outcomes[(op.__name__, -1)] += 1
                    self.failures.append(f"{op.__name__}: {type(e).__name__}: {e}")

    def traffic(self, seconds: float) -> None:
        self.stop.clear()
        threads = [threading.Thread(target=self.client, daemon=True)
                   for i in range(self.args.clients)]
        for t in threads:
            t.start()
        end = time.monotonic() + seconds
        next_orphans = time.monotonic() + ORPHANS_EVERY_S / 2
        while time.monotonic() < end:
            if not self.warming and time.monotonic() >= next_orphans:
                self.plant_orphans(2)
                next_orphans += ORPHANS_EVERY_S
            self.sample_if_due()
            time.sleep(0.2)
        self.stop.set()
        for t in threads:
            t.join(timeout=150)
            if t.is_alive():
                self.failures.append("a client thread did not finish within 150 s")

    def plant_orphans(self, n: int) -> None:
        """What a crash leaves behind: staged files no team references, older than the TTL."""
        old = time.time() - self.args.staging_ttl - 600
        for _ in range(n):
            path = os.path.join(self.args.data_dir, "staging", str(uuid.uuid4()))
            with open(path, "wb") as f:
                f.write(b"orphan " * 100)
            os.utime(path, (old, old))
            self.planted += 1

    # -- sampling ------------------------------------------------------------------------------------------

    def metrics(self) -> dict:
        resp = h.get(self.server, "/metrics", timeout=30)
        values = {}
        for line in resp.body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def pg_connections(self) -> int | None:
        if not self.args.pg_port:
            return None
        out = subprocess.run(
            ["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(self.args.pg_port), "-U", "postgres", "-d", "postgres",
             "-c", f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.args.pg_db}'"],
            capture_output=True, text=True, timeout=30, check=True)
        return int(out.stdout.strip())

    def sample(self, phase: str) -> dict:
        status = {}
        with open(f"/proc/{self.args.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                status[key] = value.strip()
        staging = os.path.join(self.args.data_dir, "staging")
        staged = []
        for entry in os.scandir(staging):
            try:  # a file may go between listing and stat
                staged.append(entry.stat(follow_symlinks=False).st_size)
            except FileNotFoundError:
                pass
        m = self.metrics()
        with self.lock:
            requests, teams = self.requests, len(self.acknowledged)
        now = time.monotonic()
        row = {
            "t": now - self.started, "phase": phase,
            "rss": int(status["VmRSS"].split()[0]) * 1024,
            "heap": m.get("teamreg_heap_in_use_bytes", -1),
            "sqlite": m.get("teamreg_sqlite_memory_bytes"),
            "fds": len(os.listdir(f"/proc/{self.args.pid}/fd")),
            "threads": int(status["Threads"]),
            "staged_files": len(staged),
            "staged_disk": sum(staged),
            "staged_gauge": m.get("teamreg_staged_bytes", -1),
            "pg": self.pg_connections(),
            "sweeps": m.get("teamreg_sweeps_total", -1),
            "swept": m.get("teamreg_sweeper_deleted_total", -1),
            "teams": teams, "requests": requests,
        }
        prev = self.rows[-1] if self.rows else None
        row["rate"] = (requests - prev["requests"]) / (now - self.started - prev["t"]) if prev else 0.0
        self.rows.append(row)
        self.print_row(row)
        self.last_sample = now
        return row

    def sample_if_due(self) -> None:
        if time.monotonic() - self.last_sample >= self.args.sample:
            self.sample("traffic" if not self.warming else "warm-up")

    @staticmethod
    def print_header() -> None:
        print("|    t s | phase   | RSS MiB | heap MiB | SQLite MiB | fds | threads | staged files | staged bytes (disk/gauge) "
              "| pg conns | sweeps | swept | teams | req/s |", flush=True)
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)

    @staticmethod
    def print_row(r: dict) -> None:
        pg = "-" if r["pg"] is None else str(r["pg"])
        lite = "-" if r["sqlite"] is None else f"{r['sqlite'] / MIB:.1f}"
        print(f"| {r['t']:6.0f} | {r['phase']:7} | {r['rss'] / MIB:7.1f} | {r['heap'] / MIB:8.1f} | {lite:>10} | {r['fds']:3} "
              f"| {r['threads']:7} | {r['staged_files']:12} | {r['staged_disk']:.0f} / {r['staged_gauge']:.0f} "
              f"| {pg:>8} | {r['sweeps']:6.0f} | {r['swept']:5.0f} | {r['teams']:5} | {r['rate']:5.1f} |", flush=True)

    # -- end checks ----------------------------------------------------------------------------------------

    def settle(self) -> dict:
        """No traffic until the planted orphans are swept and staging is empty again."""
        deadline = time.monotonic() + self.args.settle
        time.sleep(min(10.0, self.args.settle))
        while True:
            row = self.sample("settle")
            done = row["swept"] >= self.planted and row["staged_files"] == 0 and row["staged_gauge"] == 0
            if done or time.monotonic() >= deadline:
                return row
            time.sleep(min(self.args.sample, max(0.0, deadline - time.monotonic())))

    def open_fds(self) -> Counter:
        links: Counter = Counter()
        for fd in os.listdir(f"/proc/{self.args.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.args.pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            links[target.split(":")[0] if target.startswith(("socket:", "pipe:", "anon_inode:")) else target] += 1
        return links

    def check(self, base: dict, end: dict) -> list[str]:
        problems = []
        added, removed = end["fd_targets"] - base["fd_targets"], base["fd_targets"] - end["fd_targets"]
        if added or removed:
            print(f"open fds gained {dict(added)}, lost {dict(removed)}")

        def require(ok: bool, what: str) -> None:
            print(f"  {'ok  ' if ok else 'FAIL'} {what}")
            if not ok:
                problems.append(what)

        print("checks (baseline = idle after warm-up, end = after settling):")
        require(not self.failures, f"every request got its expected status ({len(self.failures)} did not)")
        require(end["threads"] == base["threads"], f"threads {base['threads']} -> {end['threads']} (equal)")
        require(end["staged_files"] == base["staged_files"] == 0,
                f"staged files {base['staged_files']} -> {end['staged_files']} (0)")
        require(end["staged_disk"] == 0 and end["staged_gauge"] == 0,
                f"staged bytes on disk {end['staged_disk']}, gauge {end['staged_gauge']:.0f} (0)")
        require(end["swept"] - base["swept"] == self.planted - base["planted"],
                f"orphans swept {end['swept'] - base['swept']:.0f} of {self.planted - base['planted']} planted (all)")
        pg_growth = 0 if end["pg"] is None else end["pg"] - base["pg"]
        if end["pg"] is not None:
            require(end["pg"] <= PG_POOL_CAP, f"PostgreSQL connections {base['pg']} -> {end['pg']} "
                                              f"(at most the pools' {PG_POOL_CAP})")
        # The pools open connections lazily and keep them: an fd gained must be one of those, a
        # PostgreSQL socket (no more than the new connections pg_stat_activity shows) or a SQLite
        # reader connection's database file and WAL (at most one reader per server thread).
        other = {t: n for t, n in added.items() if t != "socket" and not re.search(r"\.db(-wal|-shm)?$", t)}
        sockets = added.get("socket", 0)
        sqlite_fds = sum(n for t, n in end["fd_targets"].items() if re.search(r"\.db(-wal|-shm)?$", t))
        require(not other and sockets <= max(0, pg_growth) and sqlite_fds <= 3 * end["threads"],
                f"open fds {base['fds']} -> {end['fds']}: gained only database connections "
                f"({sockets} sockets for {pg_growth} new PostgreSQL connections, {sqlite_fds} SQLite file fds, "
                f"other {other or 'none'})")
        # SQLite's page caches fill and empty with the reads in flight, up to the server's limit on
        # SQLite's memory (storage::sqlite::kMemoryLimitBytes): that part of the heap is checked against
        # the limit, the rest against the baseline. A statement or connection SQLite leaked would pass
        # the limit.
        lite_base, lite_end = base["sqlite"] or 0, end["sqlite"] or 0
        heap_limit = base["heap"] - lite_base + self.args.heap_slack_mib * MIB
        require(end["heap"] - lite_end <= heap_limit,
                f"heap in use outside SQLite {(base['heap'] - lite_base) / MIB:.1f} -> "
                f"{(end['heap'] - lite_end) / MIB:.1f} MiB (at most +{self.args.heap_slack_mib} MiB)")
        if end["sqlite"] is not None:
            lite_limit = (SQLITE_MEMORY_LIMIT_MIB + self.args.sqlite_slack_mib) * MIB
            require(lite_end <= lite_limit,
                    f"SQLite's memory {lite_base / MIB:.1f} -> {lite_end / MIB:.1f} MiB (at most its limit of "
                    f"{SQLITE_MEMORY_LIMIT_MIB} MiB + {self.args.sqlite_slack_mib} MiB)")
        rss_limit = base["rss"] + self.args.rss_slack_mib * MIB
        require(end["rss"] <= rss_limit, f"RSS {base['rss'] / MIB:.1f} -> {end['rss'] / MIB:.1f} MiB "
                                         f"(at most +{self.args.rss_slack_mib} MiB)")
        problems += self.check_ids(require)
        return problems

    def check_ids(self, require) -> list[str]:
        m = self.metrics()
        n = int(m['teamreg_sequence_last_number{sequence="team"}'])
        expected = set(h.team_ids(range(1, n + 1)))
        acknowledged = set(self.acknowledged)
        require(acknowledged == expected, f"acknowledged IDs are exactly ICCT-001..{h.format_team_id(n)} "
                                          f"({len(acknowledged)} acknowledged, sequence at {n})")
        listed: dict[str, dict] = {}
        offset = 0
        while True:
            resp = h.admin_request(self.server, "GET", f"/admin/teams?limit=1000&offset={offset}", self.args.token)
            if resp.status != 200:
                require(False, f"/admin/teams answered {resp.status}")
                return []
            page = resp.json["data"]
            listed.update({t["teamId"]: t for t in page})
            offset += len(page)
            if not page or offset >= resp.json["total"]:
                break
        require(set(listed) == expected, f"/admin/teams lists exactly those {n} teams ({len(listed)} listed)")
        whole = [t for t in listed.values()
                 if t["playerCount"] == 11 and t["pastorLetter"]
                 and (t["captainEmail"] == self.acknowledged.get(t["teamId"]))]
        require(len(whole) == len(listed), f"every listed team has 11 players, a pastor letter and the captain "
                                           f"e-mail it was sent with ({len(listed) - len(whole)} do not)")
        confirmed = sum(1 for t in listed.values() if t["registrationStatus"] == "confirmed")
        require(confirmed == self.confirmed, f"confirmed {confirmed} == confirms answered 200 ({self.confirmed})")
        return []

    def run(self) -> int:
        self.started = self.last_sample = time.monotonic()
        self.warming = True
        self.print_header()
        self.sample("start")
        self.traffic(self.args.warmup)
        self.warming = False
        time.sleep(min(10.0, self.args.settle))
        base = self.sample("idle")
        base["planted"] = self.planted
        base["fd_targets"] = self.open_fds()
        self.traffic(self.args.seconds)
        end = self.settle()
        end["fd_targets"] = self.open_fds()
        summary = ", ".join(f"{op} {status}: {n}" for (op, status), n in sorted(self.outcomes.items(),
                                                                                 key=lambda kv: str(kv[0])))
        print(f"outcomes: {summary}")
        print(f"{len(self.acknowledged)} teams acknowledged, {self.confirmed} confirmed, {self.planted} orphans planted")
        for failure in self.failures[:20]:
            print(f"  unexpected: {failure}")
        problems = self.check(base, end)
        print("SOAK PASSED" if not problems else f"SOAK FAILED: {len(problems)} check(s)")
        return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="the server's PID, for /proc")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--token", required=True, help="an admin token")
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--warmup", type=float, default=20)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--rate", type=float, default=50, help="requests per second, all clients together")
    p.add_argument("--sample", type=float, default=10)
    p.add_argument("--settle", type=float, default=90, help="longest wait for the sweeper after the traffic")
    p.add_argument("--staging-ttl", type=float, default=3600, help="the server's --staging-ttl")
    p.add_argument("--heap-slack-mib", type=float, default=8)
    p.add_argument("--sqlite-slack-mib", type=float, default=2,
                   help="SQLite's memory past its limit: pages its connections hold pinned, schemas, statements")
    p.add_argument("--rss-slack-mib", type=float, default=160)
    p.add_argument("--pg-port", type=int, default=0, help="PostgreSQL port, to count its connections")
    p.add_argument("--pg-db", default="teamreg")
    return Soak(p.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
