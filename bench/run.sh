#!/usr/bin/env bash
# Load benchmark (issue 5): teamreg over real HTTP on SQLite and on a throw-away PostgreSQL 15,
# workloads W1/W2 at several concurrencies, plus pgbench ceilings V1/V2 on the same server.
# Prints one line per run (with every non-2xx answer counted by status, `errors=[status:count]`)
# and the ratios; every run is followed by a gapless check. The server runs at its defaults under
# `ulimit -n 1024`, only with --rate-limit 0 (all load comes from one address).
#   bench/run.sh            short version (make bench), about 4 minutes
#   DURATION=30 bench/run.sh   the full figures of docs/performance.md
#   S3=1 bench/run.sh       also W1 and W2 at c=100 on PostgreSQL with documents in a local s3rver
#                           (tests/s3, scripts/install-s3-deps.sh) against the local directory
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8}
CONCURRENCIES=${CONCURRENCIES:-"1 16 64 100 256"}
BUILD=${BUILD:-build/release}
TEAMREG=$BUILD/teamreg
LOADGEN=$BUILD/teamreg_loadgen
PGBIN=/usr/lib/postgresql/15/bin

work=$(mktemp -d /tmp/teamreg-bench.XXXXXX)
server_pid=""
pg_started=""
s3_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$s3_pid" ] && kill "$s3_pid" 2>/dev/null && wait "$s3_pid" 2>/dev/null || true
  [ -n "$pg_started" ] && as_pg "$PGBIN/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {  # $1 = database (path or URL), rest = extra flags
  local db=$1; shift
  local data="$work/data-$RANDOM"
  mkdir -p "$data"
  # The defaults a user gets, under the usual open-file limit; only the rate limit is off, since
  # all load comes from one address.
  prlimit --nofile=1024:1024 "$TEAMREG" serve --database "$db" --data-dir "$data" \
    --listen 127.0.0.1:0 --rate-limit 0 "$@" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^listening on' "$work/server.out" 2>/dev/null && break
    sleep 0.1
  done
  port=$(sed -n 's/^listening on http:\/\/.*:\([0-9]*\)$/\1/p' "$work/server.out")
  [ -n "$port" ] || { cat "$work/server.err"; exit 1; }
}

stop_server() {
  kill "$server_pid"; wait "$server_pid" || true; server_pid=""
}

run_series() {  # $1 = label, $2 = workload, rest = concurrencies
  local label=$1 workload=$2; shift 2
  local created=0
  for c in "$@"; do
    line=$("$LOADGEN" --port "$port" -c "$c" --duration "$DURATION" --workload "$workload" \
      --server-pid "$server_pid" --label "$label")
    echo "$line"
    n=$(sed -n 's/.* created=\([0-9]*\) .*/\1/p' <<<"$line")
    created=$((created + n))
    rate=$(sed -n 's/.* rate= *\([0-9.]*\)\/s.*/\1/p' <<<"$line")
    echo "$label $workload $c $rate" >>"$work/rates"
  done
  "$LOADGEN" --port "$port" --verify --expect "$created"
}

if [ ! -x "$TEAMREG" ] || [ ! -x "$LOADGEN" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)" --target teamreg teamreg_loadgen >/dev/null
fi

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); duration ${DURATION}s per run"
echo "## SQLite (synchronous=FULL)"
start_server "$work/sqlite.db"
run_series sqlite w1 $CONCURRENCIES
stop_server
start_server "$work/sqlite-w2.db"
run_series sqlite w2 100
stop_server

echo "## PostgreSQL 15 (synchronous_commit=on), throw-away server"
mkdir -p "$work/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$work" "$work/pg"
as_pg "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
pgport=$(free_port)
as_pg "$PGBIN/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
  -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null
pg_started=1
for db in teamreg teamreg_w2 ceiling local_w1 local_w2 s3_w1 s3_w2; do
  "$PGBIN/createdb" -h 127.0.0.1 -p "$pgport" -U postgres "$db"
done
dsn="postgresql://postgres@127.0.0.1:$pgport"
start_server "$dsn/teamreg"
run_series postgres w1 $CONCURRENCIES
stop_server
start_server "$dsn/teamreg_w2"
run_series postgres w2 100
stop_server

"$TEAMREG" migrate --database "$dsn/ceiling" --log-level warn
psql_ceiling() { psql -X -q -h 127.0.0.1 -p "$pgport" -U postgres ceiling "$@"; }
psql_ceiling -f bench/pg-ceiling/setup.sql
pgbench_rate() {  # $1 = script, $2 = clients
  "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$pgport" -U postgres -f "$1" -c "$2" -j 2 -T "$DURATION" ceiling 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
v1=$(pgbench_rate bench/pg-ceiling/v1_old_pattern.sql 100)
v2=$(pgbench_rate bench/pg-ceiling/v2_one_statement.sql 100)
gaps=$(psql_ceiling -At -c "SELECT count(*) = max(number) FROM teams WHERE sequence_name = 'bench'")
echo "pgbench V1 (old pattern)   c=100 rate=${v1}/s"
echo "pgbench V2 (one statement) c=100 rate=${v2}/s   (ceiling rows gapless: $gaps)"
teamreg_pg=$(awk '$1=="postgres" && $2=="w1" && $3==100 {print $4}' "$work/rates")
awk -v t="$teamreg_pg" -v v1="$v1" -v v2="$v2" 'BEGIN {
  printf "teamreg postgres w1 c=100: %.1f/s = %.2fx V2, %.2fx V1\n", t, t / v2, t / v1 }'

if [ "${S3:-0}" = 1 ]; then
  echo "## PostgreSQL + documents in s3rver (tests/s3, Node.js, on the same 2 cores) vs the local directory"
  s3port=$(free_port)
  mkdir -p "$work/s3"
  node tests/s3/node_modules/s3rver/bin/s3rver.js -d "$work/s3" -a 127.0.0.1 -p "$s3port" \
    --no-vhost-buckets --configure-bucket bench >"$work/s3.log" 2>&1 &
  s3_pid=$!
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER  # s3rver's built-in account
  for _ in $(seq 1 100); do
    (echo >"/dev/tcp/127.0.0.1/$s3port") 2>/dev/null && break
    sleep 0.1
  done
  for workload in w1 w2; do
    start_server "$dsn/local_$workload"
    run_series postgres+local "$workload" 100
    stop_server
    start_server "$dsn/s3_$workload" \
      --blob-store s3://bench/run --s3-endpoint "http://127.0.0.1:$s3port" --s3-path-style
    run_series postgres+s3 "$workload" 100
    stop_server
  done
fi
