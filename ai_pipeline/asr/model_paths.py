"""Where the Whisper engines look for their weights, and the error when they are not there.

A setting such as ``model: base`` or ``checkpoint: large-v3`` names an entry under
``<models_dir>/whisper/``; anything that looks like a path (absolute, ``~``, or containing a
slash) is used as it is. Nothing here downloads: missing weights raise
:class:`EngineUnavailable` telling the user which command installs them.
"""

from __future__ import annotations

from pathlib import Path

from ai_pipeline.errors import EngineUnavailable

WHISPER_SUBDIR = "whisper"


def default_models_dir() -> Path:
    """``Settings().models_dir`` (data/models unless configured), for engines built without one."""
    from ai_pipeline.settings import Settings

    return Settings().models_dir


def resolve_whisper_path(name: str, models_dir: str | Path | None, suffix: str = "") -> Path:
    """Path of the Whisper model ``name``: a path as given, or ``<models_dir>/whisper/<name><suffix>``."""
    if not name.strip():
        raise EngineUnavailable("Не указана модель распознавания речи.", "empty Whisper model name")
    if Path(name).is_absolute() or name.startswith("~") or "/" in name or "\\" in name:
        return Path(name).expanduser()
    base = Path(models_dir) if models_dir is not None else default_models_dir()
    filename = name if not suffix or name.endswith(suffix) else name + suffix
    return base / WHISPER_SUBDIR / filename


def missing_model(path: Path, detail: str) -> EngineUnavailable:
    """The error for absent or unreadable weights, naming the commands that install them."""
    return EngineUnavailable(
        f"Модель распознавания речи не найдена или повреждена: {path}. "
        "Базовая модель устанавливается командой «avatar models», "
        "большие модели скачивает «python scripts/download_models.py».",
        f"Whisper model unavailable at {path}: {detail}. "
        "Run `avatar models` (base model) or `python scripts/download_models.py --only NAME`.",
    )
