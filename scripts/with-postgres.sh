#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on a free loopback port.
#
#   scripts/with-postgres.sh cargo test --workspace --all-features
#
# Installs Debian's `postgresql` package when no server binaries are found,
# `initdb`s a cluster in a temp dir, starts it with TLS on (a CA and a server
# certificate for `localhost`, made here with openssl and deleted with the
# cluster; role `flags_cert` may log in over TLS only, with a client
# certificate the CA signed for it), exports for the command
#   FLAGS_TEST_DATABASE_URL             plain connection string (host 127.0.0.1)
#   FLAGS_TEST_DATABASE_TLS_ROOT        the CA that signed the server certificate
#   FLAGS_TEST_DATABASE_TLS_OTHER_ROOT  a CA that did not
#   FLAGS_TEST_DATABASE_TLS_CLIENT      <dir>: flags_cert.crt/.key (signed by the CA)
#                                       and stranger.crt/.key (by the other CA)
#   FLAGS_TEST_PG_CTL                   pg_ctl with this cluster's options
# and stops and deletes the cluster afterwards, whatever the command's outcome.
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

# The throwaway server's TLS certificates are made with openssl.
if ! command -v openssl >/dev/null 2>&1; then
    echo "with-postgres: installing openssl (Debian package openssl)" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl >&2
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

# TLS material, generated per run (never committed): a CA, a server
# certificate it signs for CN/SAN `localhost` only (so `127.0.0.1` is a name
# mismatch), and an unrelated CA. EC keys: instant to make.
TLS="$DATA/tls"
mkdir "$TLS"
make_ca() { # make_ca NAME SUBJECT
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "$2" -keyout "$TLS/$1.key" -out "$TLS/$1.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null
}
make_ca ca "/CN=flags test CA"
make_ca other-ca "/CN=flags unrelated CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$TLS/server.ext"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
    -days 2 -extfile "$TLS/server.ext" -out "$TLS/server.crt" 2>/dev/null
# Client certificates for role `flags_cert` (PostgreSQL's `cert` method
# takes the user from the CN): one the server's CA signed, one it did not.
mkdir "$TLS/client"
make_client() { # make_client NAME CA
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=flags_cert" -keyout "$TLS/client/$1.key" -out "$TLS/client/$1.csr" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
        >"$TLS/client/$1.ext"
    openssl x509 -req -in "$TLS/client/$1.csr" -CA "$TLS/$2.crt" -CAkey "$TLS/$2.key" -CAcreateserial \
        -days 2 -extfile "$TLS/client/$1.ext" -out "$TLS/client/$1.crt" 2>/dev/null
    rm -f "$TLS/client/$1.csr" "$TLS/client/$1.ext"
}
make_client flags_cert ca
make_client stranger other-ca
rm -f "$TLS/ca.key" "$TLS/other-ca.key" "$TLS/server.csr" "$TLS/server.ext" "$TLS"/*.srl
chmod 600 "$TLS/server.key"
[ "$(id -u)" -eq 0 ] && chown -R flagspg "$TLS"

OPTS="-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=200"
OPTS="$OPTS -c ssl=on -c ssl_cert_file=$TLS/server.crt -c ssl_key_file=$TLS/server.key"
OPTS="$OPTS -c ssl_ca_file=$TLS/ca.crt"

"${RUN[@]}" "$PG_BIN/initdb" -D "$DATA/db" -U flags --auth=trust -E UTF8 >/dev/null
# Ahead of initdb's `trust` lines: `flags_cert` needs TLS and a client
# certificate, and is refused any other way.
HBA="$DATA/db/pg_hba.conf"
{
    echo "hostssl all flags_cert 127.0.0.1/32 cert"
    echo "host all flags_cert 0.0.0.0/0 reject"
    cat "$HBA"
} >"$HBA.new"
mv "$HBA.new" "$HBA"
[ "$(id -u)" -eq 0 ] && chown flagspg "$HBA"
"${RUN[@]}" "$PG_BIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w \
    -o "$OPTS" start >/dev/null

export FLAGS_TEST_DATABASE_URL="host=127.0.0.1 port=$PORT user=flags dbname=postgres"
# Tests that restart the server need to know how.
export FLAGS_TEST_PG_CTL="${RUN[*]} $PG_BIN/pg_ctl -D $DATA/db -l $DATA/log -w -o '$OPTS'"
export FLAGS_TEST_DATABASE_TLS_ROOT="$TLS/ca.crt"
export FLAGS_TEST_DATABASE_TLS_OTHER_ROOT="$TLS/other-ca.crt"
export FLAGS_TEST_DATABASE_TLS_CLIENT="$TLS/client"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT (TLS: CA $TLS/ca.crt)" >&2

"$@"
