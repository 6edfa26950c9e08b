"""The voice training pipeline on CPU: a real dataset from real speech, a few real optimiser steps.

A voice is enrolled from festvox-ru recordings through the real store; the dataset step
transcribes its prepared utterances with the packaged Whisper base; ``scripts/train_voice.py``
then fine-tunes the GPT of a reduced XTTS checkpoint (tests/xtts_tiny.py) with Coqui's trainer,
resumes from its checkpoint, and registers the result as a new voice version whose GPT file
loads into the model.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from ai_pipeline import models
from ai_pipeline.asr.faster_whisper import FasterWhisperASR, FasterWhisperSettings
from ai_pipeline.settings import Settings
from ai_pipeline.voice.dataset import build_dataset
from ai_pipeline.voice.store import VoiceStore
from tests.ai_pipeline.voice.speech import NSH_WAVS
from tests.xtts_tiny import write_checkpoint

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "train_voice.py"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("train_voice", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    real = Settings()
    models.assemble_folder("whisper/base", real.models_dir)  # the packaged Whisper base (idempotent)
    return Settings(data_dir=tmp_path_factory.mktemp("data"), models_dir=real.models_dir)


@pytest.fixture(scope="module")
def voice(settings):  # type: ignore[no-untyped-def]
    store = VoiceStore(settings.voices_dir, limits=settings.limits)
    recordings = sorted(NSH_WAVS.glob("ru_*.wav"))[10:14]  # four real recordings, ~36 s of speech
    files = [(path.name, path.read_bytes()) for path in recordings]
    created, report = store.create("Диктор", files)
    assert report.enough and len(created.prepared) >= 3
    return created


def test_dataset_from_real_speech_and_whisper(settings, voice, tmp_path):
    asr = FasterWhisperASR(FasterWhisperSettings(), settings.models_dir)
    asr.load()
    try:
        info = build_dataset(voice, asr, tmp_path / "ds", eval_every=3)
        again = build_dataset(voice, asr, tmp_path / "ds", eval_every=3)
    finally:
        asr.close()
    assert info.train + info.eval + info.skipped == len(voice.prepared) and info.eval >= 1
    assert again.transcribed == 0 and again.train == info.train  # transcripts cached
    lines = (tmp_path / "ds" / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == info.train + info.eval and info.seconds > 20
    words = 0
    for line in lines:
        name, raw, spoken = line.split("|")
        assert (tmp_path / "ds" / "wavs" / f"{name}.wav").is_file()
        assert raw and spoken and not any(ch.isdigit() for ch in spoken)
        words += sum(1 for w in spoken.split() if any("а" <= ch <= "я" for ch in w.lower()))
    assert words >= 3 * len(lines)  # Russian words were recognised
    evaluation = (tmp_path / "ds" / "metadata_eval.csv").read_text(encoding="utf-8").splitlines()
    training = (tmp_path / "ds" / "metadata_train.csv").read_text(encoding="utf-8").splitlines()
    assert sorted(evaluation + training) == sorted(lines) and not set(evaluation) & set(training)


def test_training_steps_checkpoint_resume_and_new_version(settings, voice, tmp_path, capsys):
    base = write_checkpoint(tmp_path / "base", trainer_files=True, accent=False, max_audio_tokens=605)
    script = _script()
    work = tmp_path / "work"
    common = [voice.id, "--base", str(base), "--work", str(work), "--batch-size", "2", "--grad-accum", "1",
              "--save-step", "1", "--workers", "0", "--lr", "1e-4"]
    assert script.main([*common, "--epochs", "1", "--no-register"], settings) == 0
    out = capsys.readouterr().out
    assert "[train_voice] dataset" in out and "training: epoch 1/1 step" in out
    run = script.last_run(work / "run")
    first = sorted(run.glob("checkpoint_*.pth"))
    assert first, "no checkpoint written"
    steps_before = torch.load(script.best_checkpoint(run), map_location="cpu", weights_only=False)["step"]

    assert script.main([*common, "--epochs", "2"], settings) == 0
    out = capsys.readouterr().out
    assert f"Продолжаем обучение с контрольной точки ({run.name})" in out and "training: epoch 2/2 step" in out
    assert script.last_run(work / "run") == run
    latest = torch.load(script.best_checkpoint(run), map_location="cpu", weights_only=False)
    assert latest["step"] > steps_before and latest["epoch"] >= 1

    store = VoiceStore(settings.voices_dir, limits=settings.limits)
    trained = store.get(voice.id)
    assert trained.version == voice.version + 1 and trained.prepared
    meta = json.loads((trained.folder / "xtts_train.json").read_text())
    assert meta["from_version"] == voice.version and meta["dataset"]["train"] >= 1
    from ai_pipeline.tts.xtts import XttsSettings, XttsTTS

    engine = XttsTTS(XttsSettings(model_dir=base, device="cpu", accents="off"))
    engine.load()
    try:  # exactly what the engine does when the trained voice speaks: the GPT swapped in, then synthesis
        spoken = engine.synthesize_voiced("Добрый день.", trained)
    finally:
        engine.close()
    assert spoken.samples.size > 0
    state = torch.load(trained.folder / "xtts_gpt.pth", weights_only=True)
    assert torch.equal(state["gpt.wte.weight"], state["mel_embedding.weight"])


class _Engine:
    """A live engine of a conversation as the ledger sees it (what it loads is beside the point here)."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def gpu_load(self) -> None:
        self.log.append("load tts")

    def gpu_unload(self) -> None:
        self.log.append("unload tts")


def test_training_pauses_for_a_conversation_and_goes_on_where_it_was(settings, voice, tmp_path):
    """A real run holds a background slot of a small ledger; a conversation's engine that needs the
    memory gets it after one optimiser step (not refused after ``wait_s``); the run waits while the
    conversation is open and then continues the same run: steps go on, no restart from a checkpoint."""
    import threading
    import time

    from ai_pipeline.gpu import GpuMemoryManager
    from ai_pipeline.voice.train.gpt import GptOptions
    from ai_pipeline.voice.train.run import GPU_SLOT, TrainRequest, train_voice

    base = write_checkpoint(tmp_path / "base", trainer_files=True, accent=False, max_audio_tokens=605)
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=120.0)
    log: list[str] = []
    tts = manager.register("tts", _Engine(log), 400)
    reports: list = []
    stepped = threading.Event()

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        reports.append(p)
        if p.stage == "training" and p.step and not p.paused:
            stepped.set()

    options = GptOptions(epochs=1, batch_size=1, grad_accum=1, lr=1e-4, save_step=1000, workers=0)
    request = TrainRequest(base, tmp_path / "work", options, vram_mb=800)
    outcome: dict = {}

    def train() -> None:
        try:
            outcome["done"] = train_voice(voice, settings, request, progress, manager=manager)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            import traceback

            outcome["error"] = f"{exc!r}\n{traceback.format_exc()}"

    worker = threading.Thread(target=train, daemon=True)
    worker.start()
    assert stepped.wait(300), f"no optimiser step: {outcome.get('error')!r}"
    manager.live_open()  # a conversation opens while the voice trains
    t0 = time.monotonic()
    with tts.use():
        waited = time.monotonic() - t0
        paused_at = len(reports)
        time.sleep(1.0)  # a turn: the run stays paused
        assert not [r for r in reports[paused_at:] if r.stage == "training" and not r.paused]
    assert waited < 60.0, waited  # one CPU step of the tiny model, not the ledger's wait_s
    assert log == ["load tts"] and manager.describe()["conversations"] == 1
    paused = [r for r in reports if r.paused]
    assert len(paused) == 1 and "Пауза" in paused[0].message and paused[0].step >= 1
    time.sleep(1.0)  # between turns: the idle engine is not evicted, the run waits
    assert log == ["load tts"] and worker.is_alive()
    manager.live_close()
    worker.join(600)
    assert not worker.is_alive() and "error" not in outcome, outcome.get("error")
    assert log == ["load tts", "unload tts"]  # taken back only once the conversation ended
    steps = [r.step for r in reports if r.stage == "training" and r.step and not r.paused]
    assert steps == sorted(steps) and steps[-1] > paused[0].step  # went on from where it paused
    assert any(r.message == "Обучение продолжается" for r in reports)
    assert not any("контрольной точки" in r.message for r in reports)  # the same run, not a resume
    assert outcome["done"].gpt.is_file()
    assert GPU_SLOT not in {e["name"] for e in manager.describe()["engines"]}  # the run let go of its slot


def test_training_gives_way_before_its_first_step(settings, voice, tmp_path):
    """A conversation that needs the memory while the run is still building its model and loaders is
    not kept waiting for the first optimiser step: the run pauses at the start of its epoch, takes no
    step while the conversation holds the memory, and then trains to the end."""
    import threading
    import time

    from ai_pipeline.gpu import GpuMemoryManager
    from ai_pipeline.voice.train.gpt import GptOptions
    from ai_pipeline.voice.train.run import TrainRequest, train_voice

    base = write_checkpoint(tmp_path / "base", trainer_files=True, accent=False, max_audio_tokens=605)
    manager = GpuMemoryManager(budget_mb=1000, device="cpu", wait_s=120.0)
    log: list[str] = []
    tts = manager.register("tts", _Engine(log), 400)
    reports: list = []
    loading = threading.Event()

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        reports.append(p)
        if p.message == "Загрузка модели для обучения" and not p.paused:
            loading.set()

    options = GptOptions(epochs=1, batch_size=1, grad_accum=1, lr=1e-4, save_step=1000, workers=0)
    outcome: dict = {}

    def train() -> None:
        try:
            outcome["done"] = train_voice(voice, settings, TrainRequest(base, tmp_path / "work", options, vram_mb=800),
                                          progress, manager=manager)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            outcome["error"] = repr(exc)

    worker = threading.Thread(target=train, daemon=True)
    worker.start()
    assert loading.wait(300), outcome.get("error")
    manager.live_open()
    with tts.use():  # asked while the trainer is being built
        paused = [r for r in reports if r.paused]
        assert len(paused) == 1 and paused[0].step is None, paused  # before the first step, not after it
        time.sleep(1.0)
        assert not [r for r in reports if r.stage == "training" and r.step], "no step while the engine holds it"
    manager.live_close()
    worker.join(600)
    assert not worker.is_alive() and "error" not in outcome, outcome.get("error")
    assert log == ["load tts", "unload tts"]
    assert [r for r in reports if r.stage == "training" and r.step], "trained after the pause"
    assert outcome["done"].gpt.is_file()
