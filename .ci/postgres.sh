# Sourced by .ci/run (bash, set -euo pipefail): a throwaway PostgreSQL cluster for the store
# tests. It listens on a unix socket in a fresh temporary folder only (no TCP port at all), runs
# as the postgres user, and is stopped and removed when the calling shell exits. Exports
# DIGITS_TEST_POSTGRES, the URL the tests use (tests/app/store/conftest.py).
#
# A developer can do the same: `source .ci/postgres.sh && python -m pytest tests/app/store`.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true; }
PG_BIN=$(pg_bin)
if [ -z "$PG_BIN" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  PG_BIN=$(pg_bin)
fi
PG_DIR=$(mktemp -d /tmp/digits-pg.XXXXXX)
PG_PORT=54329  # only names the socket file: nothing listens on TCP
if [ "$(id -u)" = 0 ]; then  # the server refuses to run as root
  chown postgres: "$PG_DIR"
  as_postgres() { (cd "$PG_DIR" && runuser -u postgres -- "$@"); }  # from a folder it can read
else
  as_postgres() { "$@"; }
fi
as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
stop_postgres() {
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap stop_postgres EXIT
as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
  -o "-k $PG_DIR -p $PG_PORT -c listen_addresses=''" start >/dev/null
as_postgres "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U postgres digits_test
export DIGITS_TEST_POSTGRES="postgresql://postgres@/digits_test?host=$PG_DIR&port=$PG_PORT"
"$PG_BIN/postgres" --version
