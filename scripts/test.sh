#!/usr/bin/env bash
# Set up (idempotent) and run every test with real engines: the web app's unit tests (Vitest), then
# pytest, which includes the end-to-end test in a real Chromium against the real server (and, on a
# machine with a CUDA GPU, the heavy engines on CUDA: tests/gpu, selected by tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null; then  # the browser of the end-to-end test (Debian's; never downloaded)
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
(cd frontend && npm test --silent)
exec .venv/bin/python -m pytest "$@"
