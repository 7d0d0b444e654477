#!/usr/bin/env bash
# Every test, on a fresh machine: unit, integration, doc, UI (trybuild),
# conformance (../shared/unleash-spec), the PostgreSQL tests against a
# throwaway server this script starts and stops, the tests against the real
# Node peers (Unleash's server and SDKs, pinned in tests/node) and the browser
# tests (Debian's chromium and chromium-driver). Everything missing is
# installed first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/node-peers.sh
scripts/chromium.sh
exec scripts/with-postgres.sh cargo test --workspace --all-features
