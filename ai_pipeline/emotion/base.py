"""The emotion stage interface: text -> one of a small fixed set of labels with a confidence."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

EMOTIONS = ("neutral", "happy", "sad", "surprised", "thinking", "angry", "scared")


@dataclass(frozen=True)
class EmotionResult:
    label: str
    confidence: float


class EmotionEngine(ABC):
    """Base class for emotion classifiers (blocking ``classify``; cheap enough to call per chunk)."""

    name: ClassVar[str]

    def __init__(self, settings: Any, models_dir: Any = None) -> None:
        self.settings = settings
        self.models_dir = models_dir

    def load(self) -> None:
        """Load the model (blocking)."""

    def close(self) -> None:
        """Release the model."""

    def describe(self) -> dict[str, object]:
        return {"engine": self.name}

    @abstractmethod
    def classify(self, text: str) -> EmotionResult:
        """The dominant emotion of ``text`` (a label from EMOTIONS)."""
