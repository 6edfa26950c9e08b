"""The ASR stage interface.

An engine implements one blocking method, :meth:`ASREngine.transcribe`, over 16 kHz mono float32
audio. The base class runs it off the event loop (:meth:`ASREngine.atranscribe`) and validates the
input, so engines only deal with the model.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import ClassVar

import numpy as np

from ai_pipeline.chunks import Transcript
from ai_pipeline.engine import Engine
from ai_pipeline.asr.languages import check_language
from ai_pipeline.errors import InputError

SAMPLE_RATE = 16000


class ASREngine(Engine):
    """Base class for every speech recogniser."""

    sample_rate: ClassVar[int] = SAMPLE_RATE

    @abstractmethod
    def transcribe(self, samples: np.ndarray, *, language: str | None = None) -> Transcript:
        """Recognise 16 kHz mono float32 ``samples`` (blocking)."""

    def check(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size < SAMPLE_RATE // 10:
            raise InputError("Запись слишком короткая для распознавания.", "Audio shorter than 0.1 s.",
                             code="empty_audio")
        return samples

    async def atranscribe(self, samples: np.ndarray, *, language: str | None = None) -> Transcript:
        return await asyncio.to_thread(self.transcribe, self.check(samples), language=check_language(language))
