"""Speech recognition stage: 16 kHz mono audio -> Transcript (Russian by default)."""

from ai_pipeline.asr.base import ASREngine

__all__ = ["ASREngine"]
