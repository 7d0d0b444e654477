#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver when missing: the browser tests
# drive a real headless Chromium through WebDriver.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "chromium: installing Debian packages chromium chromium-driver" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >&2
fi
