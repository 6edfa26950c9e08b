"""What every model-backed engine has: settings, a models folder, and a blocking load/close."""

from __future__ import annotations

from abc import ABC
from typing import Any, ClassVar


class Engine(ABC):
    """Base of the ASR, LLM and emotion engines (stage interfaces add their streaming methods)."""

    name: ClassVar[str]

    def __init__(self, settings: Any, models_dir: Any = None) -> None:
        self.settings = settings
        self.models_dir = models_dir

    def load(self) -> None:
        """Load the model or check the server (blocking; from a lifespan or a worker thread)."""

    def close(self) -> None:
        """Release the model."""

    def describe(self) -> dict[str, object]:
        return {"engine": self.name}
