"""Whether this machine can fine-tune a voice, and the Russian reason when it cannot.

Training needs a CUDA device and the full XTTS-v2 base checkpoint (with the trainer's ``dvae.pth``
and ``mel_stats.pth``). The options live in :class:`TrainingSettings`, read from the environment
(``AVATAR_TRAIN_*``): ``AVATAR_TRAIN_FORCE=true`` declares a machine able to train without a GPU
(the CPU tests with the reduced checkpoint), ``false`` switches training off.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BASE_FILES = ("config.json", "model.pth", "vocab.json", "dvae.pth", "mel_stats.pth")
DOWNLOAD = "python scripts/download_models.py --only xtts-v2"


class TrainingSettings(BaseSettings):
    """Options of the server's training job (the CLI takes the same as flags)."""

    model_config = SettingsConfigDict(env_prefix="AVATAR_TRAIN_", extra="ignore", frozen=True)

    force: bool | None = Field(None, description="true: can train even without CUDA; false: never; null: detect")
    base_dir: Path | None = Field(None, description="base XTTS-v2 folder (default: <models_dir>/<tts.model_dir>)")
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(8, ge=1)
    lr: float = Field(5e-6, gt=0)
    save_step: int = Field(200, ge=1)
    workers: int = Field(2, ge=0)
    seed: int = 1
    vram_mb: int = Field(10000, ge=1, description="declared to the GPU budget while training")
    seconds_per_audio_minute: float = Field(
        60.0, gt=0, description="wall seconds per epoch per minute of speech (time estimate; an RTX 3090 class GPU)")


@dataclass(frozen=True)
class Capability:
    """``can_train`` and, when false, ``reason`` (Russian, one sentence); ``device`` where it runs."""

    can_train: bool
    reason: str | None
    device: str
    forced: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"can_train": self.can_train, "reason": self.reason, "device": self.device, "forced": self.forced}


def base_folder(training: TrainingSettings, models_dir: Path, tts_model_dir: Path | None) -> Path:
    """The base XTTS-v2 checkpoint folder training starts from."""
    if training.base_dir is not None:
        return training.base_dir
    return Path(models_dir) / (tts_model_dir or Path("xtts_v2"))


def missing_base_files(base: Path) -> list[str]:
    return [name for name in BASE_FILES if not (base / name).is_file()]


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def training_capability(training: TrainingSettings, base: Path) -> Capability:
    """Can this machine train now? Checks the coqui packages, CUDA and the base checkpoint."""
    if training.force is False:
        return Capability(False, "Обучение голоса выключено в настройках сервера (AVATAR_TRAIN_FORCE=false).", "none")
    if importlib.util.find_spec("TTS") is None or importlib.util.find_spec("trainer") is None:
        return Capability(False, "Обучение голоса недоступно: на сервере не установлен движок XTTS (coqui-tts).", "none")
    missing = missing_base_files(base)
    if missing:
        return Capability(False, f"Обучение голоса недоступно: нет базовой модели XTTS-v2 ({', '.join(missing)}); "
                                 f"скачайте её командой {DOWNLOAD}.", "none")
    if training.force:
        return Capability(True, None, "cuda" if _cuda() else "cpu", forced=True)
    if not _cuda():
        return Capability(False, "Обучение голоса требует видеокарту NVIDIA с CUDA, а на этом сервере её нет.", "none")
    return Capability(True, None, "cuda")


def estimate_seconds(audio_s: float, epochs: int, training: TrainingSettings) -> float:
    """Rough wall time of a run: dataset transcription plus epochs proportional to the speech."""
    transcribe = 0.3 * audio_s  # Whisper on the GPU, about 3x faster than real time with loading
    return round(transcribe + epochs * training.seconds_per_audio_minute * audio_s / 60.0 + 60.0, 1)
