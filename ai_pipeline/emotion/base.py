"""The emotion stage interface: text -> one of a small fixed set of labels with a confidence."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

from ai_pipeline.engine import Engine

EMOTIONS = ("neutral", "happy", "sad", "surprised", "thinking", "angry", "scared")


@dataclass(frozen=True)
class EmotionResult:
    label: str
    confidence: float


class EmotionEngine(Engine):
    """Base class for emotion classifiers (blocking ``classify``; cheap enough to call per chunk)."""

    @abstractmethod
    def classify(self, text: str) -> EmotionResult:
        """The dominant emotion of ``text`` (a label from EMOTIONS)."""
