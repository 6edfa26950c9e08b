#!/usr/bin/env bash
# Set up (idempotent) and start the product on the embedded defaults: http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Redis holds the clip cache and rate limits; the server also runs without it (and says so)
if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >/dev/null || true
fi
exec .venv/bin/avatar serve "$@"
