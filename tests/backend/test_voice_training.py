"""Voice training as a server job, on CPU with the reduced XTTS checkpoint and a forced "can train".

A real voice (festvox-ru recordings) is enrolled; ``POST /api/voices/{id}/train`` runs the real
pipeline: Whisper transcribes the dataset, Coqui's GPT trainer takes real optimiser steps on the
tiny checkpoint (tests/xtts_tiny.py), progress arrives in the job's ``details``. The server is
stopped mid-training and started again: the same job continues from its checkpoint, finishes,
and the validation decides (from its own measurements) whether the trained version became current.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ai_pipeline import models
from ai_pipeline.settings import Settings
from ai_pipeline.voice.store import VoiceStore
from ai_pipeline.voice.train.validate import WER_SLACK
from backend import cli
from backend.app import create_app
from backend.runtime import Runtime
from backend.voice_training import capability_of, training_for
from tests.ai_pipeline.voice.speech import NSH_WAVS
from tests.xtts_tiny import write_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, str]:
    real = Settings()
    models.assemble_folder("whisper/base", real.models_dir)  # the packaged Whisper base (idempotent)
    base = write_checkpoint(tmp_path / "base", trainer_files=True, accent=False, max_audio_tokens=605)
    env = {"FORCE": "true", "BASE_DIR": str(base), "EPOCHS": "3", "BATCH_SIZE": "2", "GRAD_ACCUM": "1",
           "SAVE_STEP": "1", "WORKERS": "0", "LR": "1e-4"}
    for key, value in env.items():
        monkeypatch.setenv(f"AVATAR_TRAINING__{key}", value)
    settings = Settings(data_dir=tmp_path / "data", models_dir=real.models_dir)
    store = VoiceStore(settings.voices_dir, limits=settings.limits)
    recordings = sorted(NSH_WAVS.glob("ru_*.wav"))[10:14]  # four real recordings, ~36 s of speech
    voice, report = store.create("Диктор", [(p.name, p.read_bytes()) for p in recordings])
    assert report.enough
    return settings, voice.id


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), base_url="http://127.0.0.1")


def _poll(client: TestClient, job_id: str, until, timeout: float = 600) -> list[dict]:  # type: ignore[no-untyped-def]
    seen: list[dict] = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        seen.append(job)
        if until(job) or job["status"] in ("done", "error"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job did not get there: {seen[-1]}")


def _steps(seen: list[dict]) -> list[int]:
    return [j["details"]["step"] for j in seen if (j.get("details") or {}).get("step") is not None]


def test_training_job_reports_progress_survives_a_restart_and_validates(setup):
    settings, voice_id = setup
    with _client(settings) as client:
        health = client.get("/api/health").json()["training"]
        assert health == {"can_train": True, "reason": None, "device": "cpu", "forced": True}
        status = client.get(f"/api/voices/{voice_id}/train").json()
        assert status["can_train"] and status["enough_audio"] and status["job"] is None
        assert status["estimate_s"] > 0 and status["audio_s"] > 30

        created = client.post(f"/api/voices/{voice_id}/train")
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        assert client.post(f"/api/voices/{voice_id}/train").json()["job_id"] == job_id  # one per voice
        before = _poll(client, job_id, lambda j: (j.get("details") or {}).get("step", 0) >= 2)
        assert before[-1]["status"] == "running", before[-1]
        stages = [j["details"]["stage"] for j in before if j.get("details")]
        assert "dataset" in stages and stages[-1] == "training"
        last = before[-1]["details"]
        assert last["epochs"] == 3 and last["epoch"] >= 1 and last["loss"] > 0 and last["steps"] >= last["step"]
        progress = [j["progress"] for j in before]
        assert progress == sorted(progress) and 0.1 < progress[-1] < 0.85
        # the server stops mid-training: the trainer saves a checkpoint, the job waits for the next start
    runs = list((settings.data_dir / "training" / voice_id / "run").glob("xtts_gpt-*/checkpoint_*.pth"))
    assert runs, "no checkpoint at shutdown"
    stopped_at = max(_steps(before))

    with _client(settings) as client:
        status = client.get(f"/api/voices/{voice_id}/train").json()
        assert status["job"]["id"] == job_id and status["job"]["status"] in ("queued", "running")
        after = _poll(client, job_id, lambda j: False)
        job = after[-1]
        assert job["status"] == "done", job
        resumed = _steps(after)
        assert resumed and min(resumed) >= stopped_at  # continued from the checkpoint, not from step 0
        result = job["result"]
        validation = result["validation"]
        a, b = validation["after"], validation["before"]
        for candidate in (a, b):
            assert -1 <= candidate["similarity"] <= 1 and candidate["wer"] >= 0 and candidate["seconds"] > 0
        better = a["similarity"] > b["similarity"] and a["wer"] <= b["wer"] + WER_SLACK
        assert result["used"] is better and validation["better"] is better and result["message"]
        voice = client.get(f"/api/voices/{voice_id}").json()
        if better:
            assert result["version"] == voice["current_version"] == 2
            assert voice["versions"][-1]["source"] == "trained"
        else:
            assert result["version"] is None and voice["current_version"] == 1
        assert not (settings.data_dir / "training" / voice_id / "run").exists()  # checkpoints cleaned up

        # a new training can be cancelled: it stops after a checkpoint with a «cancelled» error
        again = client.post(f"/api/voices/{voice_id}/train").json()["job_id"]
        assert again != job_id
        _poll(client, again, lambda j: (j.get("details") or {}).get("stage") == "training")
        cancelled = client.delete(f"/api/voices/{voice_id}/train").json()
        assert cancelled["job"]["id"] == again
        final = _poll(client, again, lambda j: False)[-1]
        assert final["status"] == "error" and final["error"]["code"] == "cancelled", final
    # no run leaves its log file attached to the trainer's logger (the next run in this process would fail on it)
    assert not [h for h in logging.getLogger("trainer").handlers if isinstance(h, logging.FileHandler)]


def test_the_training_section_from_yaml_and_env_reaches_the_service_and_the_cli(tmp_path, monkeypatch, capsys):
    config = tmp_path / "avatar.yaml"
    config.write_text("training:\n  force: false\n  epochs: 5\n  batch_size: 3\n  yield_to_live: false\n")
    monkeypatch.setenv("AVATAR_CONFIG", str(config))
    monkeypatch.setenv("AVATAR_TRAINING__EPOCHS", "7")  # the environment wins over the file
    runtime = Runtime(Settings(data_dir=tmp_path / "data"))
    options = training_for(runtime).options
    assert (options.epochs, options.batch_size, options.force, options.yield_to_live) == (7, 3, False, False)
    capability = capability_of(runtime.settings)  # what /api/health and the wizard are told
    assert not capability.can_train and "training.force" in capability.reason
    spec = importlib.util.spec_from_file_location("train_voice", REPO / "scripts" / "train_voice.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = script.parse_args(["Диктор"], runtime.settings.training)  # the CLI's defaults are the same section
    assert (args.epochs, args.batch_size, args.save_step) == (7, 3, 200)

    monkeypatch.delenv("AVATAR_TRAINING__EPOCHS")
    config.write_text("training:\n  epochs: 0\n")
    assert cli.main(["models", "list"]) == 2  # refused at start-up, with the section and field named
    err = capsys.readouterr().err
    assert "invalid settings" in err and "training.epochs" in err


class _LiveEngine:
    """A conversation's GPU engine as the process's VRAM ledger sees it (nothing to load on a CPU)."""

    def gpu_load(self) -> None:
        pass

    def gpu_unload(self) -> None:
        pass


def test_a_training_job_pauses_while_a_conversation_needs_its_gpu_memory(setup):
    """The job's slot gives way: an engine that does not fit beside it loads after one optimiser step
    (not after ``gpu.wait_s``), the job says it is paused, stays paused while the conversation is
    open, and goes on with the same run once it ends."""
    from ai_pipeline.gpu import gpu_manager

    settings, voice_id = setup
    manager = gpu_manager()
    need = manager.budget_mb - settings.training.vram_mb + 1  # fits only if the training lets go
    slot = manager.register("test_conversation_engine", _LiveEngine(), estimate_mb=need)
    live = False
    try:
        with _client(settings) as client:
            job_id = client.post(f"/api/voices/{voice_id}/train").json()["job_id"]
            _poll(client, job_id, lambda j: (j.get("details") or {}).get("step", 0) >= 1)
            manager.live_open()
            live = True
            t0 = time.monotonic()
            with slot.use():
                waited = time.monotonic() - t0
                paused = _poll(client, job_id, lambda j: (j.get("details") or {}).get("paused") is True)[-1]
                assert paused["status"] == "running" and "Пауза" in paused["message"], paused
                time.sleep(2.0)  # a turn: the run takes no step meanwhile
                still = client.get(f"/api/jobs/{job_id}").json()
                assert still["details"]["paused"] and still["details"]["step"] == paused["details"]["step"]
                assert still["progress"] == paused["progress"]  # the bar does not jump back
            assert waited < manager.wait_s, waited
            time.sleep(2.0)  # between turns: the conversation's idle engine is not evicted, the run waits
            assert slot.state == "loaded"
            assert client.get(f"/api/jobs/{job_id}").json()["details"]["paused"]
            manager.live_close()
            live = False
            went_on = _poll(client, job_id, lambda j: (j.get("details") or {}).get("step", 0) > paused["details"]["step"])
            assert went_on[-1]["status"] == "running" and not went_on[-1]["details"].get("paused"), went_on[-1]
            assert not any("контрольной точки" in j["message"] for j in went_on)  # the same run, not a resume
            assert slot.state == "unloaded"  # the idle engine made room for the training again
            client.delete(f"/api/voices/{voice_id}/train")
            final = _poll(client, job_id, lambda j: False)[-1]
            assert final["status"] == "error" and final["error"]["code"] == "cancelled", final
    finally:
        if live:
            manager.live_close()
        manager.unregister(slot.name)
    assert "voice_training" not in {e["name"] for e in manager.describe()["engines"]}
