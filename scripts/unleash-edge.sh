#!/usr/bin/env bash
# Installs the pinned Unleash Edge (crate `unleash-edge`) into target/edge/bin,
# the peer that flags-middleware/benches/frontend.rs compares our Frontend API
# with. Idempotent: does nothing when target/edge/bin/unleash-edge already is
# the pinned version. Edge is a benchmark peer only: no test or CI step runs it.
#
# Built without default features: they only add S3 persistence (the AWS SDK,
# a long build on small machines), which offline mode never uses.
set -euo pipefail
cd "$(dirname "$0")/.."

EDGE_VERSION="20.1.0"
ROOT="target/edge"
BIN="$ROOT/bin/unleash-edge"

# Edge has no --version flag: cargo's own record of the install says which.
installed() {
    [ -x "$BIN" ] && grep -qF "\"unleash-edge $EDGE_VERSION " "$ROOT/.crates.toml" 2>/dev/null
}
if installed; then
    exit 0
fi

# A build dir of its own, removed after the install: Edge's dependencies are
# not ours and would only take disk next to the workspace's target/.
BUILD_DIR="target/edge-build"
echo "unleash-edge: cargo install unleash-edge $EDGE_VERSION (takes a while)" >&2
CARGO_TARGET_DIR="$BUILD_DIR" nice cargo install --locked --no-default-features \
    --version "$EDGE_VERSION" --root "$ROOT" unleash-edge >&2
rm -rf "$BUILD_DIR"
installed || { echo "unleash-edge: $BIN is not version $EDGE_VERSION" >&2; exit 1; }
echo "unleash-edge: $EDGE_VERSION installed at $BIN" >&2
