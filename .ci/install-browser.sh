#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (pytest -m browser), if missing.
# Idempotent: does nothing when /usr/bin/chromium already exists.
# Never downloads a browser build of its own (no `playwright install`).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "install-browser: $CHROMIUM already present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')); nothing to do"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-browser: $CHROMIUM is missing and this is not root and sudo is unavailable;" >&2
    echo "install-browser: run as root: apt-get update && apt-get install -y --no-install-recommends chromium" >&2
    exit 1
fi

echo "install-browser: $CHROMIUM missing; installing Debian package 'chromium' with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "install-browser: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
