#!/usr/bin/env bash
# Debian's Chromium for the console's browser test (playwright-core drives it; it downloads no browser).
# Idempotent: does nothing when it is there.
set -euo pipefail
command -v chromium >/dev/null && exit 0
echo "[chromium] installing chromium from Debian (first time only)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
echo "[chromium] installed: $(chromium --version 2>/dev/null || echo unknown)"
