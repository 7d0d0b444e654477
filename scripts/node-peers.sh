#!/usr/bin/env bash
# Installs the pinned Node peers the tests run against (tests/node/package.json:
# unleash-server, unleash-client, unleash-proxy-client) into tests/node/node_modules.
# Installs Debian's nodejs and npm first when Node is missing. Idempotent: does
# nothing when node_modules already matches package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../tests/node"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "node-peers: installing Node (Debian packages nodejs npm)" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >&2
fi

# npm keeps its own copy of the lock inside node_modules after an install:
# equal to ours means the installed tree is the pinned one.
if ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
    if [ -f node_modules/.package-lock.json ] && \
       node -e 'const a=require("./package-lock.json").packages,b=require("./node_modules/.package-lock.json").packages;for(const k of Object.keys(a)){if(k&&!a[k].optional&&(!b[k]||b[k].version!==a[k].version))process.exit(1)}' 2>/dev/null; then
        exit 0
    fi
    echo "node-peers: npm ci (unleash-server, unleash-client, unleash-proxy-client)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
fi
