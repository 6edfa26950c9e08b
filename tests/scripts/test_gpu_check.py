"""scripts/gpu_check.sh and ``bench.py gpu``: on a machine without CUDA the check says so and exits 0;
``--device cpu`` runs the same checks' plumbing on the CPU (real engines, small workloads)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ai_pipeline.settings import REPO_ROOT
from tests.devices import cuda_available

BENCH = [sys.executable, str(REPO_ROOT / "scripts" / "bench.py"), "gpu"]


@pytest.mark.skipif(cuda_available(), reason="this machine has CUDA: the check would really run")
def test_without_cuda_the_check_says_so_and_exits_cleanly(tmp_path: Path) -> None:
    report = tmp_path / "gpu_check.json"
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "gpu_check.sh"), str(report)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})
    assert done.returncode == 0, done.stderr
    assert "CUDA-видеокарта не найдена" in done.stderr
    assert json.loads(report.read_text()) == {"bench": "gpu", "skipped": "no CUDA device"}
    assert json.loads(done.stdout)["skipped"] == "no CUDA device"


def test_the_checks_run_end_to_end_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    done = subprocess.run([*BENCH, "--device", "cpu", "--only", "rubert,syncnet,xtts", "--seconds", "1",
                           "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["live"] is None and report["gpu"] is None
    rows = {row["engine"]: row for row in report["engines"]}
    assert list(rows) == ["rubert", "xtts", "syncnet"]  # the order of CHECKS
    assert "error" not in rows["rubert"] and rows["rubert"]["latency_s"] > 0 and rows["rubert"]["device"] == "cpu"
    assert rows["syncnet"]["windows"] == 8 and rows["syncnet"]["windows_per_s"] > 0
    assert "error" not in rows["xtts"]  # either measured or skipped with the reason (no model files here)
    assert "torch_peak_mb" not in rows["rubert"]  # VRAM figures only on CUDA
    assert report["ledger"]["device"] == "cpu" and report["budget_mb"] > 0
