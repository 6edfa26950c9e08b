"""``--quality studio``: a render request through the full SadTalker pipeline (:mod:`.studio`).

The glue between a loaded :class:`~ai_pipeline.runner.Pipeline` and the studio pipeline: the speech
(the recording, or the request's text spoken by the pipeline's TTS in its voice), the networks loaded
into the shared VRAM budget for the render and released after it, the optional mouth refinement by
the pipeline's Wav2Lip engine and the pipeline's enhancer on the frames, then one MP4. Without the
SadTalker weights :func:`check_studio` refuses the quality with a Russian message before any work;
the live path does not use any of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import EngineFailed, EngineUnavailable
from ai_pipeline.request import RenderRequest
from ai_pipeline.talking_head.base import Avatar
from ai_pipeline.talking_head.prepare import PreparedFace
from ai_pipeline.talking_head.sadtalker.speech import FPS
from ai_pipeline.talking_head.sadtalker.studio import (
    VRAM_MB,
    Refine,
    StudioOptions,
    encode_mp4,
    load_studio_models,
    render_studio,
    studio_missing,
)
from ai_pipeline.talking_head.wav2lip.engine import Wav2LipEngine, Wav2LipSettings

if TYPE_CHECKING:
    from ai_pipeline.runner import Pipeline, Progress, RenderResult

QUALITIES = ("live", "studio")


def studio_folder(pipeline: Pipeline) -> tuple[Path, Wav2LipSettings]:
    """The SadTalker checkpoint folder and the head settings it is configured by (Wav2Lip's, or defaults)."""
    settings = pipeline.settings
    head = settings.talking_head if isinstance(settings.talking_head, Wav2LipSettings) else Wav2LipSettings()
    folder = head.sadtalker_dir if head.sadtalker_dir.is_absolute() else settings.models_dir / head.sadtalker_dir
    return folder, head


def check_studio(pipeline: Pipeline) -> None:
    """Raise :class:`EngineUnavailable` (Russian message) when the studio quality cannot run here."""
    folder, head = studio_folder(pipeline)
    missing = studio_missing(folder, head.sadtalker_size)
    if missing:
        raise EngineUnavailable(missing, f"SadTalker studio checkpoints missing in {folder}")


def wav2lip_refiner(engine: Wav2LipEngine, face: PreparedFace) -> Refine:
    """Wav2Lip's mouths drawn over the rendered frames (the frames serve as a base loop played once)."""
    from ai_pipeline.talking_head.wav2lip.base_loop import BaseLoop

    def refine(frames: np.ndarray, landmarks: np.ndarray, audio: AudioChunk) -> np.ndarray:
        avatar = engine.avatar_over(face, BaseLoop(frames, landmarks, FPS, "sadtalker"))
        return np.concatenate([b.frames for b in engine.render(avatar, audio)])[:len(frames)]

    return refine


class _StudioSlot:
    """The studio networks as a :class:`ai_pipeline.gpu.GpuModel` (loaded for one render)."""

    def __init__(self, folder: Path, size: int, device: str) -> None:
        self.folder, self.size, self.device = folder, size, device
        self.models: Any = None

    def gpu_load(self) -> None:
        self.models = load_studio_models(self.folder, self.size).to(self.device)

    def gpu_unload(self) -> None:
        self.models = None


async def speech_of(pipeline: Pipeline, request: RenderRequest) -> AudioChunk:
    """The request's recording, or its text spoken (whole) by the pipeline's TTS in the request's voice."""
    if isinstance(request.audio, AudioChunk):
        return request.audio
    from ai_pipeline.timing import StageTimer
    from ai_pipeline.voice.speaker import VoicedTTS

    assert request.text is not None and not isinstance(request.voice, str)
    tts = await asyncio.to_thread(pipeline.speaking_tts, request)
    chunks = [c async for c in VoicedTTS(tts, request.voice).stream(pipeline.check_text(request.text), StageTimer())]
    if not chunks:
        raise EngineFailed("Синтез речи ничего не вернул.", "TTS produced no audio")
    return AudioChunk(np.concatenate([c.samples for c in chunks]).astype(np.float32), chunks[0].sample_rate)


async def render_studio_request(pipeline: Pipeline, avatar: Avatar, request: RenderRequest,
                                progress: Progress | None = None, options: StudioOptions | None = None
                                ) -> RenderResult:
    """Render ``request`` at studio quality (same result type as ``Pipeline.render``)."""
    from ai_pipeline.gpu import gpu_manager, resolve_device
    from ai_pipeline.runner import RenderResult

    check_studio(pipeline)
    report = progress or (lambda f, m: None)
    started = time.perf_counter()
    request = await asyncio.to_thread(pipeline.resolve, request)
    report(0.0, "Студия: речь")
    audio = await speech_of(pipeline, request)
    speech_s = time.perf_counter() - started
    folder, head = studio_folder(pipeline)
    opts = options or StudioOptions(size=head.sadtalker_size, seed=head.seed)
    refine = None
    if isinstance(pipeline.head, Wav2LipEngine) and pipeline.head.fps == FPS:
        refine = wav2lip_refiner(pipeline.head, avatar.face)
    enhance = pipeline.enhancer_for(avatar)

    def run() -> tuple[bytes, Any]:
        manager = gpu_manager()
        device = manager.device if head.device == "auto" else resolve_device(head.device)
        holder = _StudioSlot(folder, opts.size, device)
        slot = manager.register("sadtalker_studio", holder, estimate_mb=VRAM_MB)
        try:
            with slot.use():
                clip = render_studio(avatar.face, audio, holder.models, opts, refine=refine, enhance=enhance,
                                     progress=lambda f, m: report(0.05 + 0.9 * f, m))
        finally:
            manager.unregister("sadtalker_studio")
        report(0.96, "Студия: кодирование видео")
        return encode_mp4(clip, pipeline.settings.encoder), clip

    mp4, clip = await asyncio.to_thread(run)
    report(1.0, "Готово")
    timings = {"speech": round(speech_s, 3), **clip.timings, "total": round(time.perf_counter() - started, 3)}
    with contextlib.suppress(ZeroDivisionError):
        timings["render_s_per_audio_s"] = round((timings["total"] - speech_s) / clip.duration, 3)
    return RenderResult(mp4, clip.duration, len(clip.frames), clip.audio.sample_rate, avatar.id, timings,
                        avatar.warnings)
