#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the tests, from Debian's packages
# (apt-get install -y postgresql). Prints the URL to export as EFFNAS_TEST_POSTGRES.
#
#   scripts/test-postgres.sh start [DIR] [PORT]    # default /tmp/effnas-pg, 54329
#   scripts/test-postgres.sh stop  [DIR]
#   scripts/test-postgres.sh restart [DIR] [PORT] [DOWN]   # a real restart: clients are cut
#                                        # off, then refused for DOWN seconds (default 0)
#
# The role `effnas` (password `effnas`) owns the database `effnas`; connections need
# the password (scram-sha-256), so tests can try wrong credentials too. PostgreSQL will
# not run as root: as root the server runs as the `postgres` user.
set -euo pipefail
action="${1:-start}"
dir="${2:-/tmp/effnas-pg}"
port="${3:-54329}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "test-postgres: no PostgreSQL server (apt-get install -y postgresql)" >&2; exit 2; }
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
start_server() {
    if [ ! -f "$dir/PG_VERSION" ]; then
        mkdir -p "$dir"
        [ "$(id -u)" = 0 ] && chown postgres: "$dir"
        pwfile="$(mktemp)"
        echo effnas >"$pwfile"
        chmod 644 "$pwfile"
        as_owner "$bin/initdb" -D "$dir" -U effnas --pwfile="$pwfile" --auth=scram-sha-256 >/dev/null
        rm -f "$pwfile"
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" start >/dev/null
        PGPASSWORD=effnas "$bin/psql" -h 127.0.0.1 -p "$port" -U effnas -d postgres -qtAc \
            "SELECT 1 FROM pg_database WHERE datname = 'effnas'" | grep -q 1 ||
            PGPASSWORD=effnas "$bin/psql" -h 127.0.0.1 -p "$port" -U effnas -d postgres -qc "CREATE DATABASE effnas"
    fi
    echo "postgres://effnas:effnas@127.0.0.1:$port/effnas"
}
case "$action" in
start)
    start_server
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null
    ;;
restart)
    as_owner "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null
    sleep "${4:-0}"
    start_server >/dev/null
    ;;
*)
    echo "usage: $0 start|stop [DIR] [PORT] | restart [DIR] [PORT] [DOWN]" >&2
    exit 2
    ;;
esac
