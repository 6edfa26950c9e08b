#!/usr/bin/env bash
# The one GPU check: on a CUDA machine, the device test suite (tests/gpu: each engine on the GPU against
# the CPU) and then `bench.py gpu` (every heavy engine at full size, fps / latency / peak VRAM by torch and
# NVML, and the live set under gpu.budget_mb) into one JSON report. Without a CUDA device it says so and
# exits 0 (the report then holds only "skipped").
#
#   scripts/gpu_check.sh [REPORT.json] [bench.py gpu options...]     default report: data/gpu_check.json
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
REPORT=${1:-$ROOT/data/gpu_check.json}
shift || true
cd "$ROOT"
mkdir -p "$(dirname "$REPORT")"

if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "Проверка GPU пропущена: CUDA-видеокарта не найдена." >&2
    exec "$PYTHON" scripts/bench.py gpu --out "$REPORT" "$@"
fi

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
LOG=$(mktemp)
set +e
"$PYTHON" -m pytest tests/gpu -q -p no:cacheprovider 2>&1 | tee "$LOG"
TESTS_RC=${PIPESTATUS[0]}
set -e
"$PYTHON" scripts/bench.py gpu --out "$REPORT" --tests-log "$LOG" --tests-rc "$TESTS_RC" "$@"
rm -f "$LOG"
echo "Отчёт: $REPORT (tests/gpu: код выхода $TESTS_RC)" >&2
exit "$TESTS_RC"
