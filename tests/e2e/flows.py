"""Helpers of the browser tests: the microphone's question, the media bundle and running one flow of
frontend/e2e/run.mjs."""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ai_pipeline.media.audio_io import decode_audio, write_wav
from ai_pipeline.settings import REPO_ROOT

FRONTEND = REPO_ROOT / "frontend"
OUT = REPO_ROOT / "out" / "e2e"
QUESTION = REPO_ROOT / "tests/data/asr/festival_00.ogg"  # «Привет, как у тебя дела?»
MIC_RATE = 48000  # Chromium's fake capture expects 48 kHz mono 16-bit


@dataclass(frozen=True)
class Media:
    photo: Path
    voices: list[Path]
    mic: Path
    max_hold_ms: int  # the longest push-to-talk: the flow lets go once it has heard one whole question


def mic_recording(folder: Path) -> tuple[Path, int]:
    """The question between silences. Chromium loops the file; the flow holds push-to-talk until the level
    meter has heard one whole question (quiet, voice, quiet), so the lead silence lets it see a clean start
    and the tail tells it the end. Returns the file and the longest hold: two loops and a second."""
    question, _ = decode_audio(QUESTION.read_bytes(), MIC_RATE)
    lead, tail = np.zeros(int(MIC_RATE * 0.6)), np.zeros(MIC_RATE * 2)
    samples = np.concatenate([lead, question, tail]).astype(np.float32)
    mic = folder / "question.wav"
    write_wav(mic, samples, MIC_RATE)
    return mic, math.ceil(2 * len(samples) / MIC_RATE * 1000) + 1000


def run_flow(flow: str, url: str, media: Media, chromium: str, *extra: str, timeout_s: int = 560) -> Path:
    """Run `node e2e/run.mjs --flow FLOW`; print its log (kept in out/e2e/FLOW/log.txt beside the screenshots);
    fail with its summary. Returns that folder."""
    out = OUT / flow
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.png"), out / "log.txt"]:
        old.unlink(missing_ok=True)
    cmd = ["node", "e2e/run.mjs", "--flow", flow, "--url", url, "--mic", str(media.mic), "--max-hold-ms",
           str(media.max_hold_ms), "--expect", "привет", "--out", str(out), "--chromium", chromium, *extra]
    run = subprocess.run(cmd, cwd=FRONTEND, capture_output=True, text=True, timeout=timeout_s)
    print(run.stdout, run.stderr)
    (out / "log.txt").write_text(run.stdout + run.stderr)
    summary = [line for line in run.stdout.splitlines() if "[e2e] FAIL" in line]
    assert run.returncode == 0, "\n".join(summary) + "\n--- log tail ---\n" + run.stdout[-3000:] + run.stderr[-2000:]
    return out
