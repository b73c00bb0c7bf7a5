#!/usr/bin/env bash
# Soak run (issue 13): SOAK_SECONDS (default 600) of mixed traffic against the release binary on
# SQLite, then on a throw-away PostgreSQL 15 this script starts and stops; bench/soak.py sends the
# traffic, prints a row every 10 s (RSS, heap in use, fds, threads, staged files and bytes,
# PostgreSQL connections, the sweeper's passes and deletions) and checks at the end that they are
# back where they started and that the IDs are exactly 1..N. Exits 1 if any check fails on either.
#   bench/soak.sh                     both databases, 10 minutes of traffic each (make soak)
#   SOAK_SECONDS=60 bench/soak.sh     a short run
#   SOAK_DATABASES=postgres bench/soak.sh   one database only (sqlite, postgres)
# Extra arguments go to bench/soak.py (e.g. --clients 16, --rss-slack-mib 200).
# The server runs at its defaults under `ulimit -n 1024`, with --trusted-proxies 127.0.0.1/32 so
# that the X-Forwarded-For of each request spreads the load over many client addresses (the rate
# limit stays on); SOAK_SERVER_ENV (e.g. MALLOC_ARENA_MAX=2) is put in the server's environment.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_DATABASES=${SOAK_DATABASES:-"sqlite postgres"}
SOAK_SERVER_ENV=${SOAK_SERVER_ENV:-}
BUILD=${BUILD:-build/release}
TEAMREG=$BUILD/teamreg
PGBIN=/usr/lib/postgresql/15/bin

work=$(mktemp -d /tmp/teamreg-soak.XXXXXX)
server_pid=""
pg_started=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$pg_started" ] && as_pg "$PGBIN/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

soak() {  # $1 = label, $2 = database (path or URL), rest = extra soak.py arguments
  local label=$1 db=$2; shift 2
  local data="$work/data-$label"
  mkdir -p "$data"
  echo "## $label: ${SOAK_SECONDS}s of traffic, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  # shellcheck disable=SC2086 # SOAK_SERVER_ENV is a list of NAME=value words
  env $SOAK_SERVER_ENV prlimit --nofile=1024:1024 "$TEAMREG" serve --database "$db" --data-dir "$data" \
    --listen 127.0.0.1:0 --trusted-proxies 127.0.0.1/32 >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^listening on' "$work/server.out" 2>/dev/null && break
    sleep 0.1
  done
  port=$(sed -n 's/^listening on http:\/\/.*:\([0-9]*\)$/\1/p' "$work/server.out")
  [ -n "$port" ] || { cat "$work/server.err"; exit 1; }
  token=$("$TEAMREG" admin token create --name soak --database "$db" --data-dir "$data" \
    --log-level warn 2>"$work/token.err") || { cat "$work/token.err"; exit 1; }
  local rc=0
  python3 bench/soak.py --port "$port" --pid "$server_pid" --data-dir "$data" --token "$token" \
    --seconds "$SOAK_SECONDS" "$@" "${SOAK_ARGS[@]}" || rc=$?
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "FAIL: the server exited during the soak"; tail -20 "$work/server.err"; rc=1
  fi
  kill "$server_pid"
  wait "$server_pid" || { echo "FAIL: the server did not exit cleanly"; rc=1; }
  server_pid=""
  grep -E ' (error|critical) ' "$work/server.err" | head -5 || true
  return $rc
}

SOAK_ARGS=("$@")
if [ ! -x "$TEAMREG" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)" --target teamreg >/dev/null
fi
echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
failed=""
for database in $SOAK_DATABASES; do
  case $database in
    sqlite) soak sqlite "$work/sqlite.db" || failed="$failed sqlite" ;;
    postgres)
      mkdir -p "$work/pg"
      [ "$(id -u)" -eq 0 ] && chown postgres "$work" "$work/pg"
      as_pg "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
      pgport=$(free_port)
      as_pg "$PGBIN/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
        -o "-p $pgport -k $work -c listen_addresses=127.0.0.1" start >/dev/null
      pg_started=1
      "$PGBIN/createdb" -h 127.0.0.1 -p "$pgport" -U postgres teamreg
      soak postgres "postgresql://postgres@127.0.0.1:$pgport/teamreg" --pg-port "$pgport" \
        || failed="$failed postgres"
      as_pg "$PGBIN/pg_ctl" -D "$work/pg" -m fast stop >/dev/null
      pg_started=""
      ;;
    *) echo "unknown database in SOAK_DATABASES: $database"; exit 2 ;;
  esac
done
if [ -n "$failed" ]; then
  echo "soak failed on:$failed"
  exit 1
fi
echo "soak passed on: $SOAK_DATABASES"
