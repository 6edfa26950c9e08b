"""The TTS stage interface.

An engine implements one blocking method, :meth:`TTSEngine.synthesize_sentence`, that turns one
already-normalised sentence into an :class:`AudioChunk`. The base class does the plumbing: text
normalisation, sentence splitting, running the blocking call off the event loop, and streaming one
chunk per sentence so the next stage can start on sentence one while sentence two is synthesised.
Cancelling the consuming task stops synthesis after the sentence in flight.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import InputError
from ai_pipeline.text.normalize import normalize_for_speech
from ai_pipeline.text.sentences import split_sentences
from ai_pipeline.timing import StageTimer


@dataclass(frozen=True)
class TTSCapabilities:
    """What an engine can do; callers adapt to this instead of branching on engine names."""

    phonemes: bool = False  # AudioChunk.phonemes carries timings usable for visemes
    voice_cloning: bool = False


class TTSEngine(ABC):
    """Base class for every TTS engine."""

    name: ClassVar[str]
    capabilities: ClassVar[TTSCapabilities] = TTSCapabilities()

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """Native output rate of the engine (kept, never downsampled)."""

    def load(self) -> None:
        """Load voices/models. Blocking; called once from a lifespan or a worker thread."""

    def close(self) -> None:
        """Release processes and memory."""

    @abstractmethod
    def synthesize_sentence(self, text: str) -> AudioChunk:
        """Synthesise one normalised sentence (blocking)."""

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "sample_rate": self.sample_rate, "phonemes": self.capabilities.phonemes}

    def prepare_text(self, text: str) -> list[str]:
        """Normalise and split text into speakable sentences; raise InputError if nothing is left."""
        sentences = [normalize_for_speech(s) for s in split_sentences(text)]
        sentences = [s for s in sentences if any(ch.isalnum() for ch in s)]
        if not sentences:
            raise InputError("Текст пуст: нечего произносить.", "Text is empty after normalisation.", code="empty_text")
        return sentences

    async def stream(self, text: str, timer: StageTimer | None = None) -> AsyncIterator[AudioChunk]:
        """Yield one AudioChunk per sentence, synthesising off the event loop."""
        timer = timer or StageTimer()
        for index, sentence in enumerate(self.prepare_text(text)):
            with timer.measure("tts"):
                chunk = await asyncio.to_thread(self.synthesize_sentence, sentence)
            yield AudioChunk(chunk.samples, chunk.sample_rate, chunk.text, chunk.phonemes, index)
