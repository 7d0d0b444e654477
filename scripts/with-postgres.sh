#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on a free loopback port.
#
#   scripts/with-postgres.sh cargo test --workspace --all-features
#
# Installs Debian's `postgresql` package when no server binaries are found,
# `initdb`s a cluster in a temp dir, starts it, exports FLAGS_TEST_DATABASE_URL
# for the command, and stops and deletes the cluster afterwards, whatever the
# command's outcome.
set -euo pipefail

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin /usr/local/bin /usr/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if ! PG_BIN=$(find_bin); then
    echo "with-postgres: installing PostgreSQL (Debian package postgresql)" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
    PG_BIN=$(find_bin) || { echo "with-postgres: no PostgreSQL server after install" >&2; exit 1; }
fi

DATA=$(mktemp -d /tmp/flags-pg.XXXXXX)
# initdb and postgres refuse to run as root: run them as a dedicated user.
RUN=()
if [ "$(id -u)" -eq 0 ]; then
    id -u flagspg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin flagspg
    chown flagspg "$DATA"
    RUN=(runuser -u flagspg --)
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

cleanup() {
    "${RUN[@]}" "$PG_BIN/pg_ctl" -D "$DATA/db" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap cleanup EXIT

"${RUN[@]}" "$PG_BIN/initdb" -D "$DATA/db" -U flags --auth=trust -E UTF8 >/dev/null
"${RUN[@]}" "$PG_BIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=200" start >/dev/null

export FLAGS_TEST_DATABASE_URL="host=127.0.0.1 port=$PORT user=flags dbname=postgres"
# Tests that restart the server need to know how.
export FLAGS_TEST_PG_CTL="${RUN[*]} $PG_BIN/pg_ctl -D $DATA/db -l $DATA/log -w -o '-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=200'"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT" >&2

"$@"
