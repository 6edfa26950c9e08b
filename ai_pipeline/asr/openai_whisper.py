"""openai-whisper (PyTorch) with an official ``.pt`` checkpoint: the heavy, most accurate recogniser.

Meant for a CUDA machine with ``large-v3`` (fp16 there; fp32 on CPU, where it is slow). The
checkpoint is ``settings.checkpoint``: a name under ``<models_dir>/whisper/`` (``large-v3`` means
``large-v3.pt``) or a path; ``scripts/download_models.py`` fetches the official files. It is read
by :func:`load_checkpoint`, never by ``whisper.load_model``, which would turn a name into a
download. If it cannot load, the runner falls back to faster-whisper and says so.

openai-whisper is installed with ``--no-deps`` (its metadata pulls triton, a CUDA-only package);
its runtime dependencies (tiktoken, numba, more-itertools, tqdm) are in requirements.txt. The
tokenizer vocabularies and mel filters ship inside the package.
"""

from __future__ import annotations

import pickle
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ai_pipeline.asr.base import SAMPLE_RATE, ASREngine
from ai_pipeline.asr.model_paths import missing_model, resolve_whisper_path
from ai_pipeline.chunks import Transcript, TranscriptSegment
from ai_pipeline.engine import EngineInfo, EngineSettings, cuda_missing, missing_file, missing_package
from ai_pipeline.errors import EngineFailed, EngineUnavailable

INSTALL = ("pip install --no-deps openai-whisper==20250625 && "
           "pip install tiktoken numba more-itertools tqdm (torch==2.13.0 first)")
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # whisper's fallback schedule


def import_whisper() -> Any:
    """Import the ``whisper`` package (and torch), or say how to install it."""
    try:
        import torch  # noqa: F401  (whisper needs it; a missing torch is reported the same way)
        import whisper
    except ImportError as exc:
        raise EngineUnavailable("Распознавание речи openai-whisper недоступно: пакет не установлен.",
                                f"{exc}; {INSTALL}") from None
    return whisper


def load_checkpoint(path: Path, device: str) -> Any:
    """Build a ``whisper.model.Whisper`` from a local official checkpoint, as ``whisper.load_model`` does.

    The file holds ``{"dims": ModelDimensions fields, "model_state_dict": ...}``; it is read with
    ``weights_only=True`` (tensors and plain containers, no arbitrary pickled code).
    """
    whisper = import_whisper()
    import torch

    if not path.is_file():
        raise missing_model(path, "no such file")
    try:
        with path.open("rb") as fh:
            checkpoint = torch.load(fh, map_location=device, weights_only=True)
        dims = whisper.model.ModelDimensions(**checkpoint["dims"])
        model = whisper.model.Whisper(dims)
        model.load_state_dict(checkpoint["model_state_dict"])
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, EOFError, pickle.UnpicklingError,
            zipfile.BadZipFile) as exc:
        raise missing_model(path, f"not a Whisper checkpoint ({type(exc).__name__}: {exc})") from exc
    return model.to(device).eval()


class OpenAIWhisperSettings(EngineSettings):
    """openai-whisper with an official .pt checkpoint (dims + model_state_dict)."""

    engine: Literal["openai_whisper"] = "openai_whisper"
    checkpoint: str = "large-v3"  # a file name under data/models/whisper/ (without .pt) or a path
    device: Literal["auto", "cpu", "cuda"] = "auto"
    language: str = "ru"
    beam_size: int = Field(1, ge=1, le=10)


class OpenAIWhisperASR(ASREngine):
    """Whisper in PyTorch from an official checkpoint; Russian unless told otherwise (thread-safe)."""

    name = "openai_whisper"
    settings_class = OpenAIWhisperSettings
    # large-v3 in fp16 (README: ~4-5 GB); not declared to the VRAM budget by the engine itself
    info = EngineInfo(label_ru="Whisper large (точнее, нужна видеокарта)", heavy=True, fallback="faster_whisper",
                      vram_mb=4500)

    def __init__(self, settings: OpenAIWhisperSettings | None = None, models_dir: str | Path | None = None,
                 *, max_tokens: int | None = None) -> None:
        """``max_tokens`` caps the tokens decoded per 30 s window (whisper's ``sample_len``)."""
        super().__init__(settings, models_dir)
        self.checkpoint_path = resolve_whisper_path(self.settings.checkpoint, models_dir, suffix=".pt")
        self.max_tokens = max_tokens
        self.device = ""
        self._model: Any = None
        self._lock = threading.Lock()  # decoding installs kv-cache hooks on the shared model

    @classmethod
    def availability(cls, settings: OpenAIWhisperSettings, models_dir: Path) -> str | None:
        return (missing_package("whisper", "torch")
                or missing_file(resolve_whisper_path(settings.checkpoint, models_dir, suffix=".pt"),
                                "python scripts/download_models.py")
                or cuda_missing(settings.device))

    def load(self) -> None:
        """Load the checkpoint (tens of seconds for large-v3); a no-op when loaded."""
        with self._lock:
            self._ensure_loaded()

    def _ensure_loaded(self) -> Any:
        """The loaded model (the caller holds the lock)."""
        if self._model is None:
            import_whisper()
            import torch

            device = self.settings.device
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            elif device == "cuda" and not torch.cuda.is_available():
                raise EngineUnavailable("Видеокарта CUDA недоступна для openai-whisper.",
                                        "device=cuda but torch.cuda.is_available() is False")
            self._model = load_checkpoint(self.checkpoint_path, device)
            self.device = device
        return self._model

    def close(self) -> None:
        with self._lock:
            self._model = None

    def describe(self) -> dict[str, object]:
        info: dict[str, object] = {"engine": self.name, "checkpoint": str(self.checkpoint_path),
                                   "device": self.device or self.settings.device,
                                   "fp16": self.device == "cuda", "loaded": self._model is not None}
        if self._model is not None:
            info["dims"] = vars(self._model.dims)
        return info

    def transcribe(self, samples: np.ndarray, *, language: str | None = None) -> Transcript:
        """Recognise 16 kHz mono float32 audio; ``language`` overrides the setting ("auto" detects)."""
        samples = self.check(samples)
        wanted = language or self.settings.language
        beam = self.settings.beam_size
        options: dict[str, Any] = {"beam_size": beam if beam > 1 else None}
        if self.max_tokens is not None:
            options["sample_len"] = self.max_tokens
        duration = round(len(samples) / SAMPLE_RATE, 3)
        with self._lock:
            model = self._ensure_loaded()
            options["fp16"] = self.device == "cuda"
            started = time.perf_counter()
            try:
                result = model.transcribe(
                    samples, verbose=None, language=None if wanted == "auto" else wanted,
                    temperature=TEMPERATURES, condition_on_previous_text=False, **options)
            except (RuntimeError, ValueError) as exc:
                raise EngineFailed("Не удалось распознать речь.", f"openai-whisper failed: {exc}") from exc
        segments = tuple(TranscriptSegment(s["text"].strip(), min(round(float(s["start"]), 3), duration),
                                           min(round(float(s["end"]), 3), duration)) for s in result["segments"])
        return Transcript(
            text=" ".join(s.text for s in segments if s.text),
            language=result["language"],
            segments=segments,
            audio_duration=len(samples) / SAMPLE_RATE,
            processing_s=time.perf_counter() - started,
        )
