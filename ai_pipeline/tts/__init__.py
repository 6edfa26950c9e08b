"""Text-to-speech stage: engines turn Russian text into AudioChunks (one per sentence)."""

from ai_pipeline.tts.base import TTSCapabilities, TTSEngine

__all__ = ["TTSCapabilities", "TTSEngine"]
