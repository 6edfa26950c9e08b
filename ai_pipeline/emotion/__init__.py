"""Emotion stage: a label per reply chunk for the face and the UI's emotion indicator."""

from ai_pipeline.emotion.base import EMOTIONS, EmotionEngine

__all__ = ["EMOTIONS", "EmotionEngine"]
