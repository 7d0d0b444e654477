#!/usr/bin/env bash
# Every test, on a fresh machine: unit, integration, doc, UI (trybuild),
# conformance (../shared/unleash-spec) and the PostgreSQL tests against a
# throwaway server this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/with-postgres.sh cargo test --workspace --all-features
