#!/usr/bin/env bash
# Set up (idempotent) and run every test with real engines.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
