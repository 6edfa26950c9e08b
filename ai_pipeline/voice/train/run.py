"""One training run for one voice: dataset, GPU budget, the GPT trainer, the exported GPT file.

    outcome = train_voice(voice, settings, TrainRequest(base=..., work=...), progress, stop)

The work folder (``<data_dir>/training/<voice id>`` by default) keeps the dataset (transcripts
cached), the trainer's runs (checkpoints: a second call resumes the newest) and ``xtts_gpt.pth``,
the trained GPT. Registering it as a voice version is the caller's decision (the CLI always does,
the server's job only when :mod:`.validate` finds it better).

The run holds a ``voice_training`` slot of the process's VRAM ledger while the trainer runs
(:class:`GpuHold`): idle engines are unloaded to make room unless a conversation is open, engines in
use are waited for (the run reports that it waits), and a budget smaller than the declared need is
refused at once. While it trains, an engine that needs the memory gets it: the trainer pauses after
its current step, its tensors wait on the CPU, and it goes on when the memory is free again.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_pipeline import registry
from ai_pipeline.errors import GpuBudgetExceeded
from ai_pipeline.gpu import GpuMemoryManager, gpu_manager
from ai_pipeline.settings import Settings
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.dataset import DatasetInfo, build_dataset
from ai_pipeline.voice.store import VoiceStore
from ai_pipeline.voice.train.gpt import GptOptions, export_gpt, run_trainer
from ai_pipeline.voice.train.progress import Progress, StopSignal, TrainProgress

GPU_SLOT = "voice_training"
GPT_FILE = "xtts_gpt.pth"
_accents: Any = None


@dataclass(frozen=True)
class TrainRequest:
    """Where to read and write, and the trainer's options."""

    base: Path
    work: Path
    options: GptOptions = field(default_factory=GptOptions)
    fresh: bool = False
    vram_mb: int = 10000
    yield_to_live: bool = True  # pause while a conversation needs the GPU memory (see GpuHold)


@dataclass(frozen=True)
class TrainOutcome:
    """A finished run: the dataset, the run folder and the exported GPT (``gpt``) with its metadata."""

    dataset: DatasetInfo
    run: Path
    gpt: Path
    meta: dict[str, Any]
    seconds: float


def prepare_dataset(voice: Voice, settings: Settings, out: Path, vocab: Path, progress: Progress,
                    stop: StopSignal | None = None) -> DatasetInfo:
    """Transcripts and metadata, in the form the engine will feed the model."""
    from ai_pipeline.tts.russian_accents import ACUTE, RussianAccents

    global _accents
    marks = ACUTE in json.loads(vocab.read_text()).get("model", {}).get("vocab", {})
    accents = _accents = _accents or RussianAccents()  # loaded once per process (a few seconds)

    def told(fraction: float, message: str) -> None:
        if stop is not None:
            stop.check()
        progress(TrainProgress("dataset", fraction, message))

    asr = registry.build("asr", settings.asr, settings.models_dir)
    asr.load()
    try:
        return build_dataset(voice, asr, out, language="ru", front_end=lambda text: accents.apply(text, marks=marks),
                             progress=told)
    finally:
        asr.close()


class _TrainerHold:
    """The ledger's view of the trainer: it loads and frees its own model inside the slot."""

    def gpu_load(self) -> None:
        pass

    def gpu_unload(self) -> None:
        pass


@contextmanager
def machine_lock(path: Path | None, progress: Progress, stop: StopSignal | None) -> Iterator[None]:
    """One training at a time on this machine: an exclusive ``flock`` on ``path``, waited for."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    progress(TrainProgress("waiting", 0.0, "Ждём: на этой машине уже обучается другой голос"))
                    told = True
                if stop is not None and stop.wait(1.0):
                    stop.check()
                elif stop is None:
                    time.sleep(1.0)
        yield
    finally:
        os.close(fd)  # releases the lock


class GpuHold:
    """The run's ``voice_training`` slot of the VRAM ledger (see :mod:`ai_pipeline.gpu.memory`).

    With ``gives_way`` (the default) it is a background slot: the trainer gives the memory back for
    a while whenever an engine of a conversation needs it (:class:`~.gpt.GpuYield`), and taking it
    back waits until the memory is free without evicting anything a conversation uses. Without, it
    is an ordinary slot held for the whole run: engines that do not fit beside it wait and are refused.
    """

    def __init__(self, vram_mb: int, progress: Progress, stop: StopSignal | None,
                 manager: GpuMemoryManager | None = None, gives_way: bool = True) -> None:
        self.manager = manager or gpu_manager()
        if vram_mb > self.manager.budget_mb:
            raise GpuBudgetExceeded(
                f"Для обучения голоса нужно ~{vram_mb} МБ видеопамяти, а бюджет {self.manager.budget_mb} МБ: "
                "увеличьте gpu.budget_mb или уменьшите training.vram_mb.",
                f"training needs {vram_mb} MB > budget {self.manager.budget_mb} MB")
        self.progress, self.stop = progress, stop
        self.slot = self.manager.register(GPU_SLOT, _TrainerHold(), estimate_mb=vram_mb, background=gives_way)
        self.held = False
        self.taken = 0  # times the slot was taken (after the first, a wait is the trainer's pause: told by it)

    def asked(self) -> bool:
        return self.slot.background and self.slot.yield_asked.is_set()

    def take_back(self) -> None:
        """Hold the slot, waiting as long as it takes (the first wait is reported); a stop ends the wait."""
        told = self.taken > 0
        while True:
            if self.stop is not None:
                self.stop.check()
            tried = time.monotonic()
            try:
                self.manager.acquire(self.slot, timeout=1.0)
                self.held, self.taken = True, self.taken + 1
                return
            except GpuBudgetExceeded:
                if not told:
                    self.progress(TrainProgress("waiting", 0.0, "Ждём свободную видеопамять: сейчас её занимают "
                                                              "работающие модели"))
                    told = True
            rest = 1.0 - (time.monotonic() - tried)  # a refusal at once (memory held for good) is retried each second
            if rest > 0:
                if self.stop is not None:
                    self.stop.wait(rest)
                else:
                    time.sleep(rest)

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.manager.release(self.slot)

    def close(self) -> None:
        self.give_back()
        self.manager.unregister(GPU_SLOT)


@contextmanager
def gpu_budget(vram_mb: int, progress: Progress, stop: StopSignal | None,
               manager: GpuMemoryManager | None = None, gives_way: bool = True) -> Iterator[GpuHold]:
    """Hold ``vram_mb`` of the VRAM ledger for the block (waiting, and reporting it, until it is free)."""
    hold = GpuHold(vram_mb, progress, stop, manager, gives_way)
    try:
        hold.take_back()
        yield hold
    finally:
        hold.close()


def train_voice(voice: Voice, settings: Settings, request: TrainRequest, progress: Progress | None = None,
                stop: StopSignal | None = None, manager: GpuMemoryManager | None = None,
                lock: Path | None = None) -> TrainOutcome:
    """Dataset, training (resuming the newest run unless ``request.fresh``) and the exported GPT.

    Blocking (minutes to hours). Raises ``TrainingStopped`` when ``stop`` is set (after a checkpoint).
    ``lock`` (a file, e.g. ``<data_dir>/training/.lock``) keeps other runs on this machine waiting.
    """
    report = progress or (lambda p: None)
    started = time.perf_counter()
    work = Path(request.work)
    with machine_lock(lock, report, stop):
        report(TrainProgress("dataset", 0.0, "Нарезка и распознавание записей"))
        dataset = prepare_dataset(voice, settings, work / "dataset", request.base / "vocab.json", report, stop)
        report(TrainProgress("dataset", 1.0, f"Набор данных: {dataset.train + dataset.eval} фраз, "
                                             f"{dataset.seconds / 60:.1f} мин речи"))
        with gpu_budget(request.vram_mb, report, stop, manager, request.yield_to_live) as hold:
            if stop is not None:
                stop.check()
            report(TrainProgress("training", 0.0, "Загрузка модели для обучения"))
            run = run_trainer(request.base, dataset, work / "run", request.options, fresh=request.fresh,
                              progress=report, stop=stop, gpu=hold if request.yield_to_live else None)
    report(TrainProgress("export", 0.0, "Сохранение обученной модели"))
    gpt = work / GPT_FILE
    exported = export_gpt(run, gpt)
    meta = {**exported, "dataset": dataset.to_dict(), "epochs": request.options.epochs, "base": str(request.base),
            "from_version": voice.version, "run": str(run)}
    report(TrainProgress("export", 1.0, "Обученная модель сохранена"))
    return TrainOutcome(dataset, run, gpt, meta, round(time.perf_counter() - started, 2))


def register_trained(store: VoiceStore, voice: Voice, gpt: Path, meta: dict[str, Any]) -> Voice:
    """The trained GPT as a new version of the voice (source ``trained``, with its training metadata)."""
    with tempfile.TemporaryDirectory() as tmp:
        meta_path = Path(tmp) / "xtts_train.json"
        meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
        return store.register_version(voice.id, source="trained", files={GPT_FILE: gpt, "xtts_train.json": meta_path})
