"""Voice training from the persona screen in Debian's Chromium (frontend/e2e/training.mjs), against the
real server forced to "can train" with the reduced XTTS checkpoint (tests/xtts_tiny.py) on the CPU: the
progress bar moves, a reload mid-training finds the job where it was, the run pauses while a conversation
needs its GPU memory, the verdict appears."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from ai_pipeline import models
from ai_pipeline.settings import Settings
from ai_pipeline.voice.store import VoiceStore
from backend.background_server import serving
from tests.ai_pipeline.voice.speech import NSH_WAVS
from tests.e2e.flows import FRONTEND, OUT
from tests.xtts_tiny import write_checkpoint


@pytest.fixture
def training_server(tmp_path, monkeypatch) -> Iterator[str]:
    real = Settings()
    models.assemble_folder("whisper/base", real.models_dir)
    base = write_checkpoint(tmp_path / "base", trainer_files=True, accent=False, max_audio_tokens=605)
    for key, value in {"FORCE": "true", "BASE_DIR": str(base), "EPOCHS": "3", "BATCH_SIZE": "2", "GRAD_ACCUM": "1",
                       "SAVE_STEP": "1", "WORKERS": "0", "LR": "1e-4"}.items():
        monkeypatch.setenv(f"AVATAR_TRAINING__{key}", value)
    settings = Settings(data_dir=tmp_path / "data", models_dir=real.models_dir)
    assert (settings.server.web_dir / "index.html").is_file(), "build the web app first: bash scripts/setup.sh"
    store = VoiceStore(settings.voices_dir, limits=settings.limits)
    voice, _ = store.create("Диктор", [(p.name, p.read_bytes()) for p in sorted(NSH_WAVS.glob("ru_*.wav"))[10:14]])
    with serving(settings) as url:
        patch = urllib.request.Request(f"{url}/api/personas/1", method="PATCH", data=json.dumps({"voice_id": voice.id}).encode(),
                                       headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(patch) as answer:
            assert json.load(answer)["voice_id"] == voice.id
        yield url


class _ConversationEngine:
    """A conversation's engine on the VRAM ledger that needs the memory the training holds (nothing to load)."""

    def gpu_load(self) -> None:
        pass

    def gpu_unload(self) -> None:
        pass


def _conversation_mid_training(url: str, done: threading.Event, held: list[float]) -> None:
    """Once the training has taken two steps, a conversation opens and its engine takes the training's memory
    for a few seconds (the panel shows the pause), then the conversation ends and the training goes on."""
    from ai_pipeline.gpu import gpu_manager

    manager = gpu_manager()
    with urllib.request.urlopen(f"{url}/api/personas/1") as answer:
        voice_id = json.load(answer)["voice_id"]
    while not done.is_set():
        with urllib.request.urlopen(f"{url}/api/voices/{voice_id}/train") as answer:
            job = json.load(answer)["job"] or {}
        if ((job.get("details") or {}).get("step") or 0) >= 2:
            break
        done.wait(0.2)
    else:
        return
    slot = manager.register("browser_test_conversation", _ConversationEngine(),
                            estimate_mb=manager.budget_mb - Settings().training.vram_mb + 1)
    manager.live_open()
    try:
        started = time.monotonic()
        with slot.use():
            held.append(time.monotonic() - started)
            done.wait(6.0)
    finally:
        manager.live_close()
        manager.unregister(slot.name)


def test_training_progress_in_chromium(training_server: str, chromium: str):
    out = OUT / "training"
    out.mkdir(parents=True, exist_ok=True)
    done, held = threading.Event(), []
    conversation = threading.Thread(target=_conversation_mid_training, args=(training_server, done, held), daemon=True)
    conversation.start()
    cmd = ["node", "e2e/training.mjs", "--url", training_server, "--out", str(out), "--chromium", chromium, "--pause"]
    try:
        run = subprocess.run(cmd, cwd=FRONTEND, capture_output=True, text=True, timeout=600, env={**os.environ})
    finally:
        done.set()
        conversation.join(30)
    print(run.stdout, run.stderr)
    (out / "log.txt").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert held and held[0] < 30, f"the conversation's engine got the training's memory after {held} s"
    assert (out / "training-done.png").stat().st_size > 10_000
