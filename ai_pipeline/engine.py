"""What every engine shares: its settings model, its catalogue metadata, and the engine lifecycle.

Kept light on purpose (stdlib + pydantic at import): every engine module imports this, the
catalogue (:mod:`ai_pipeline.registry`) imports every engine module, and ``ai_pipeline.settings``
imports the catalogue. So an engine module declares its settings class (an :class:`EngineSettings`)
beside its engine class, and never imports ``ai_pipeline.settings`` at module level (that would be a
loop), nor torch or any other heavy library (those are imported by ``load``).

An engine class carries three class attributes the catalogue reads:

* ``name``: the catalogue name, equal to the ``engine`` literal of its settings class;
* ``settings_class``: an :class:`EngineSettings` subclass with ``engine: Literal["name"]``;
* ``info``: an :class:`EngineInfo` (Russian label, heavy, fallback, VRAM estimate).

and one cheap check, :meth:`Engine.availability`, used by the settings page.
"""

from __future__ import annotations

import importlib.util
from abc import ABC
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class EngineSettings(BaseModel):
    """Base of every engine's settings: frozen, unknown options refused, ``engine`` names the engine.

    Subclasses narrow ``engine`` to ``Literal["their name"] = "their name"``: the stage unions in
    ``ai_pipeline.settings`` are discriminated on it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # fields the web app's settings page may change (``options`` of PUT /api/settings); paths and
    # devices stay in the configuration file
    user_options: ClassVar[tuple[str, ...]] = ()

    engine: str


@dataclass(frozen=True)
class EngineInfo:
    """What the catalogue, the runner and the settings page know about an engine without loading it.

    ``label_ru``: shown on the settings page. ``heavy``: wants a GPU or downloaded checkpoints.
    ``fallback``: the name of a lighter engine of the same stage, built with its default settings when
    this one cannot load (None: the error stands). ``vram_mb``: approximate GPU memory the engine takes
    when it runs on a GPU with its default settings (0: it never uses one); engines that register with
    the VRAM budget declare this figure.
    """

    label_ru: str
    heavy: bool = False
    fallback: str | None = None
    vram_mb: int = 0


class Engine(ABC):
    """Base of every engine: built from ``(settings, models_dir)``, then a blocking ``load``/``close``.

    Stage interfaces (ASR, LLM, emotion, TTS, talking head, enhancement) add their own methods.
    """

    name: ClassVar[str]
    settings_class: ClassVar[type[EngineSettings]]
    info: ClassVar[EngineInfo]

    def __init__(self, settings: Any = None, models_dir: str | Path | None = None) -> None:
        """``settings`` None: the engine's defaults. ``models_dir``: where relative model paths live
        (None: the engine's own default, usually ``Settings().models_dir``)."""
        if settings is None:
            default = getattr(type(self), "settings_class", None)
            settings = default() if default is not None else None
        self.settings = settings
        self.models_dir = Path(models_dir) if models_dir is not None else None

    @classmethod
    def availability(cls, settings: Any, models_dir: Path) -> str | None:
        """Why this engine cannot run on this machine with ``settings``, in Russian; None when it can.

        Cheap checks only (a package installed, a binary on PATH, a checkpoint on disk, CUDA when the
        settings ask for it): it never loads a model or imports a heavy library. Loading may still fail
        for reasons only the load sees (a corrupt file, a stopped server); the runner reports those.
        """
        return None

    def load(self) -> None:
        """Load the model or check the server (blocking; from a lifespan or a worker thread)."""

    def close(self) -> None:
        """Release the model."""

    def describe(self) -> dict[str, object]:
        return {"engine": self.name}


# -- helpers for availability() (all cheap: no heavy import, no model load) -------------------


def missing_package(*modules: str) -> str | None:
    """A Russian reason when a top-level module is not installed (checked without importing it)."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            return f"не установлен пакет {module}"
    return None


def packaged_file(package: str, relative: str, install: str, unavailable_ru: str) -> Path:
    """A model file shipped inside an installed package, found without importing the package;
    ``EngineUnavailable`` («``unavailable_ru``: …») when the package or the file is missing."""
    from ai_pipeline.errors import EngineUnavailable

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(f"{unavailable_ru}: не установлен пакет {package}.",
                                f"{package} is not installed; {install}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise EngineUnavailable(f"{unavailable_ru}: нет файла модели.", f"{path} is missing; {install}")
    return path


def under_models(path: str | Path, models_dir: str | Path | None) -> Path:
    """``path`` as given when absolute (or ``~``), else under ``models_dir``."""
    path = Path(path).expanduser()
    return path if path.is_absolute() or models_dir is None else Path(models_dir) / path


def missing_file(path: Path, download: str | None = None) -> str | None:
    """A Russian reason when a checkpoint file is absent; ``download`` names the command that fetches it."""
    if path.is_file():
        return None
    return f"нет файла {path}" + (f" ({download})" if download else "")


def missing_files(folder: Path, names: tuple[str, ...], download: str | None = None) -> str | None:
    """A Russian reason when a model folder lacks any of ``names``."""
    absent = [n for n in names if not (folder / n).is_file()]
    if not absent:
        return None
    return f"в папке {folder} нет {', '.join(absent)}" + (f" ({download})" if download else "")


def cuda_missing(device: str) -> str | None:
    """A Russian reason when the settings ask for CUDA (``device: cuda``) and there is none.

    Asks the process-wide VRAM manager, which decides without importing torch on a machine without
    an NVIDIA driver; ``auto`` and ``cpu`` never need CUDA.
    """
    if not str(device).startswith("cuda"):
        return None
    from ai_pipeline.gpu import gpu_manager

    return None if gpu_manager().cuda else "нужна видеокарта CUDA, а она не найдена"
