"""Voice training as a server job: start, status, cancel, resume after a restart.

One :class:`VoiceTraining` per app runtime (:func:`training_for`). A training is a job of kind
``voice_train`` in the job store's ``training`` lane (one at a time in this process; the library's
file lock makes other processes on the machine wait too), so renders and voice analyses are not
held up by it. Its progress reports carry ``details`` (stage, epoch, step, loss, ETA) in the job.

Restarts: the job is resumable (``params`` holds the voice id). A server stopping cancels the job's
task; the trainer then saves a checkpoint and the job is recorded as queued; at the next start
:meth:`VoiceTraining.resume_pending` submits it again and the trainer continues from the newest
checkpoint (a crash loses at most ``save_step`` steps). A cancel from the user also saves a
checkpoint: starting the same voice's training again continues it. A finished training's runs are
deleted (checkpoints are large), so the next one starts afresh.

When the trainer is done the trained GPT is validated (:mod:`ai_pipeline.voice.train.validate`)
and becomes the voice's current version - and so the voice of every persona that speaks it - only
when it is better; the job's result says which and why.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import weakref
from pathlib import Path
from typing import Any

from ai_pipeline.errors import EngineUnavailable, InputError
from ai_pipeline.settings import Settings, TrainingSettings
from ai_pipeline.voice.base import MIN_SECONDS
from ai_pipeline.voice.train.capability import Capability, base_folder, estimate_seconds, training_capability
from ai_pipeline.voice.train.gpt import GptOptions
from ai_pipeline.voice.train.progress import StopSignal, TrainingStopped, TrainProgress
from backend.jobs import Job, Progress, Work
from backend.runtime import Runtime

log = logging.getLogger(__name__)
KIND = "voice_train"
LANE = "training"
LABEL = "Обучение голоса"


def base_of(settings: Settings) -> Path:
    return base_folder(settings.training, settings.models_dir, getattr(settings.tts, "model_dir", None))


def capability_of(settings: Settings) -> Capability:
    """Whether this server can train with its ``training`` settings (for ``/api/health`` and the wizard)."""
    return training_capability(settings.training, base_of(settings))


class VoiceTraining:
    """The training jobs of one runtime (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stops: dict[str, StopSignal] = {}  # job id -> its stop signal, while it has a task

    @property
    def options(self) -> TrainingSettings:
        """The ``training`` section of the runtime's settings (``avatar.yaml`` / ``AVATAR_TRAINING__*``)."""
        return self.runtime.settings.training

    # -- queries ------------------------------------------------------------------------------

    def latest(self, voice_id: str) -> Job | None:
        """The newest training job of a voice (finished or not)."""
        jobs = [j for j in self.runtime.jobs.jobs.values()
                if j.kind == KIND and (j.params or {}).get("voice_id") == voice_id]
        return max(jobs, key=lambda j: j.created) if jobs else None

    def status(self, voice_id: str) -> dict[str, Any]:
        """Whether the voice can be trained here, how long it would take, and its latest job (blocking)."""
        voice = self.runtime.voices().get(voice_id)
        report = voice.report()
        audio_s = report.usable_s if report else 0.0
        capability = capability_of(self.runtime.settings)
        job = self.latest(voice.id)
        return {**capability.to_dict(), "voice_id": voice.id, "audio_s": round(audio_s, 1),
                "enough_audio": audio_s >= MIN_SECONDS, "epochs": self.options.epochs,
                "estimate_s": estimate_seconds(audio_s, self.options.epochs, self.options),
                "job": job.public() if job is not None else None}

    # -- actions ------------------------------------------------------------------------------

    async def start(self, voice_id: str) -> Job:
        """Queue a training of the voice (or return the one already queued or running)."""
        voice_id = await asyncio.to_thread(self.check, voice_id)
        current = self.latest(voice_id)
        if current is not None and not current.finished:
            return current
        return self._submit(voice_id, None)

    def check(self, voice_id: str) -> str:
        """Refuse a training this server cannot do or a voice with too little speech; the voice's id (blocking)."""
        capability = capability_of(self.runtime.settings)
        if not capability.can_train:
            raise EngineUnavailable(capability.reason or "Обучение голоса недоступно.",
                                    "this server cannot train voices", code="cannot_train")
        voice = self.runtime.voices().get(voice_id)
        report = voice.report()
        usable = report.usable_s if report else 0.0
        if usable < MIN_SECONDS:
            raise InputError(f"Мало речи для обучения: {usable:.0f} с из нужных {MIN_SECONDS:.0f} с. Добавьте записи.",
                             f"{usable:.1f} s of speech < {MIN_SECONDS} s", code="not_enough_audio")
        return voice.id

    def cancel(self, voice_id: str) -> Job | None:
        """Ask the voice's running or queued training to stop (after a checkpoint); its job, if any."""
        job = self.latest(voice_id)
        if job is not None and not job.finished:
            stop = self._stops.get(job.id)
            if stop is not None:
                stop.set("cancel")
            job.message = "Отменяем обучение…"
        return job

    def resume_pending(self) -> list[str]:
        """Submit again the trainings a stopped server left queued; their ids."""
        resumed = []
        for job in self.runtime.jobs.pending(KIND):
            voice_id = (job.params or {}).get("voice_id")
            if isinstance(voice_id, str):
                self._submit(voice_id, job)
                resumed.append(job.id)
        if resumed:
            log.info("resuming voice training jobs %s", ", ".join(resumed))
        return resumed

    def _submit(self, voice_id: str, job: Job | None) -> Job:
        stop = StopSignal()
        submitted = self.runtime.jobs.submit(self._work(voice_id, stop), kind=KIND, label=LABEL, lane=LANE,
                                             params={"voice_id": voice_id}, job=job)
        self._stops[submitted.id] = stop
        return submitted

    # -- the job ------------------------------------------------------------------------------

    def _work(self, voice_id: str, stop: StopSignal) -> Work:
        async def work(progress: Progress) -> dict[str, Any]:
            stop.check()  # cancelled while queued

            def told(p: TrainProgress) -> None:
                progress(p.overall, p.message, p.to_dict())

            future = asyncio.get_running_loop().run_in_executor(None, self._train, voice_id, told, stop)
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                stop.set("shutdown")  # the trainer saves a checkpoint at its next step and returns
                try:
                    await future
                except BaseException as exc:  # noqa: BLE001 - the shutdown goes on whatever the thread says
                    if not isinstance(exc, TrainingStopped):
                        log.warning("voice training stopped with %r", exc)
                raise
        return work

    def _train(self, voice_id: str, told: Any, stop: StopSignal) -> dict[str, Any]:
        """The whole job, blocking: train, validate, register only when better, clean up the runs."""
        from ai_pipeline.voice.train.run import TrainRequest, register_trained, train_voice
        from ai_pipeline.voice.train.validate import validate_trained

        settings = self.runtime.settings
        options = settings.training
        store = self.runtime.voices()
        voice = store.get(voice_id)
        base = base_of(settings)
        work = settings.data_dir / "training" / voice.id
        gpt_options = GptOptions(epochs=options.epochs, batch_size=options.batch_size, grad_accum=options.grad_accum,
                                 lr=options.lr, save_step=options.save_step, workers=options.workers, seed=options.seed)
        request = TrainRequest(base, work, gpt_options, fresh=False, vram_mb=options.vram_mb,
                               yield_to_live=options.yield_to_live)
        outcome = train_voice(voice, settings, request, told, stop, lock=settings.data_dir / "training" / ".lock")
        verdict = validate_trained(voice, outcome.gpt, base, settings, work, told)
        meta = {**outcome.meta, "validation": verdict.to_dict()}
        version = register_trained(store, voice, outcome.gpt, meta).version if verdict.better else None
        shutil.rmtree(work / "run", ignore_errors=True)  # the next training starts afresh
        dataset = outcome.dataset.to_dict()
        dataset.pop("folder", None)
        return {"voice_id": voice.id, "used": verdict.better, "version": version, "from_version": voice.version,
                "message": verdict.reason, "validation": verdict.to_dict(), "dataset": dataset,
                "step": outcome.meta.get("step"), "epochs": options.epochs, "train_s": outcome.seconds}


_services: weakref.WeakKeyDictionary[Runtime, VoiceTraining] = weakref.WeakKeyDictionary()


def training_for(runtime: Runtime) -> VoiceTraining:
    """The runtime's training service (made on first use)."""
    service = _services.get(runtime)
    if service is None:
        service = _services[runtime] = VoiceTraining(runtime)
    return service
