"""Whether this machine can fine-tune a voice, and the Russian reason when it cannot.

Training needs a CUDA device and the full XTTS-v2 base checkpoint (with the trainer's ``dvae.pth``
and ``mel_stats.pth``). The options are the ``training`` section of the settings
(:class:`ai_pipeline.settings.TrainingSettings`): ``training.force: true`` (``AVATAR_TRAINING__FORCE=true``)
declares a machine able to train without a GPU (the CPU tests with the reduced checkpoint), ``false``
switches training off.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ai_pipeline.settings import TrainingSettings

BASE_FILES = ("config.json", "model.pth", "vocab.json", "dvae.pth", "mel_stats.pth")
DOWNLOAD = "python scripts/download_models.py --only xtts-v2"


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
        return Capability(False, "Обучение голоса выключено в настройках сервера (training.force: false).", "none")
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
