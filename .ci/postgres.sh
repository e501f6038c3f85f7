# Starts a private PostgreSQL cluster for tests; sourced by .ci/run and bench/run.
# PostgreSQL refuses to run as root, so initdb and pg_ctl run as the `postgres` user.
# Sets DATABASE_URL, PG_TEST_DATA, PG_TEST_BIN and a stop function `pg_test_stop`;
# `pg_test_restart SECONDS` crashes the server and starts it again after a pause (fault tests).
# Speed over durability (fsync and synchronous commit off) unless PG_TEST_SETTINGS adds `-c name=value`.

PG_TEST_PORT="${PG_TEST_PORT:-55432}"

pg_test_start() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ]; then
    echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2
    return 1
  fi
  PG_TEST_DATA=$(mktemp -d /tmp/casetalk-pg.XXXXXX)
  chown postgres:postgres "$PG_TEST_DATA"
  runuser -u postgres -- "$bin/initdb" -D "$PG_TEST_DATA/data" -A trust -U postgres --no-sync >"$PG_TEST_DATA/initdb.log" 2>&1 || {
    cat "$PG_TEST_DATA/initdb.log" >&2; return 1; }
  PG_TEST_BIN="$bin"
  pg_test_server_start || return 1
  runuser -u postgres -- "$bin/psql" -h 127.0.0.1 -p "$PG_TEST_PORT" -U postgres -qc "CREATE DATABASE casetalk" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_TEST_PORT/casetalk?sslmode=disable"
}

pg_test_server_start() {
  runuser -u postgres -- "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DATA/data" -l "$PG_TEST_DATA/server.log" -w -t 60 \
    -o "-p $PG_TEST_PORT -k $PG_TEST_DATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 ${PG_TEST_SETTINGS:-}" \
    start >/dev/null || { cat "$PG_TEST_DATA/server.log" >&2; return 1; }
}

pg_test_restart() {
  runuser -u postgres -- "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DATA/data" -m immediate stop >/dev/null
  sleep "${1:-0}"
  pg_test_server_start
}

pg_test_stop() {
  if [ -n "${PG_TEST_DATA:-}" ] && [ -d "$PG_TEST_DATA/data" ]; then
    runuser -u postgres -- "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DATA/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DATA"
  fi
}
