"""The TTS stage interface.

An engine implements one blocking method, :meth:`TTSEngine.synthesize_sentence`, that turns one
already-normalised sentence into an :class:`AudioChunk`. The base class does the plumbing: text
normalisation, sentence splitting, running the blocking call off the event loop, and streaming one
chunk per sentence so the next stage can start on sentence one while sentence two is synthesised.
Cancelling the consuming task stops synthesis after the sentence in flight.

Voices: ``stream(text, voice=...)`` speaks in an enrolled :class:`Voice`. An engine that declares
``capabilities.voice_cloning`` overrides :meth:`TTSEngine.synthesize_voiced` (and usually
:meth:`TTSEngine.prepare_voice`) and receives the voice itself. For every other engine the base
synthesises its own voice and applies light matching («подстройка голоса»,
:class:`ai_pipeline.voice.match.VoiceMatcher`) to each sentence, timed as the ``voice`` stage.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import InputError
from ai_pipeline.text.normalize import normalize_for_speech
from ai_pipeline.text.sentences import split_sentences
from ai_pipeline.timing import StageTimer
from ai_pipeline.voice.base import Voice

if TYPE_CHECKING:
    from ai_pipeline.voice.match import VoiceMatcher

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class TTSCapabilities:
    """What an engine can do; callers adapt to this instead of branching on engine names."""

    phonemes: bool = False  # AudioChunk.phonemes carries timings usable for visemes
    voice_cloning: bool = False  # speaks in an enrolled voice itself (synthesize_voiced); else light matching


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
        """Synthesise one normalised sentence in the engine's own voice (blocking)."""

    def synthesize_voiced(self, text: str, voice: Voice | None) -> AudioChunk:
        """Synthesise one normalised sentence in ``voice`` (blocking).

        Cloning engines override this. The default speaks the engine's own voice; the base then
        matches it to the voice (see :meth:`voice_matcher`).
        """
        return self.synthesize_sentence(text)

    def voice_matcher(self, voice: Voice | None) -> VoiceMatcher | None:
        """The light matcher applied to each sentence spoken in ``voice`` (blocking; None: nothing to do).

        None for no voice and for cloning engines. The first call for a voice may estimate its
        profile (if preparation has not) and calibrate this engine's own voice, a few seconds.
        """
        if voice is None or self.capabilities.voice_cloning:
            return None
        from ai_pipeline.voice.match import matcher_for

        return matcher_for(self, voice)

    def prepare_voice(self, voice: Voice, progress: Progress | None = None) -> dict[str, Any]:
        """Everything this engine needs for ``voice``, done once per voice version (blocking).

        Light engines: the target profile (``profile.json``) and the similarity of matched and
        unmatched speech to the samples (``similarity.json``). Cloning engines override this
        (conditioning latents) and may call :func:`ai_pipeline.voice.prepare.prepare_matching`.
        """
        from ai_pipeline.voice.prepare import prepare_matching

        return prepare_matching(self, voice, progress)

    def synthesize(self, text: str, voice: Voice | None = None) -> list[AudioChunk]:
        """Blocking counterpart of :meth:`stream`: every sentence of ``text``, in ``voice`` if given."""
        matcher = self.voice_matcher(voice)
        chunks = []
        for index, sentence in enumerate(self.prepare_text(text)):
            chunk = self.synthesize_voiced(sentence, voice)
            if matcher is not None:
                chunk = matcher.apply(chunk)
            chunks.append(replace(chunk, index=index))
        return chunks

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "sample_rate": self.sample_rate, "phonemes": self.capabilities.phonemes}

    def prepare_text(self, text: str) -> list[str]:
        """Normalise and split text into speakable sentences; raise InputError if nothing is left."""
        sentences = [normalize_for_speech(s) for s in split_sentences(text)]
        sentences = [s for s in sentences if any(ch.isalnum() for ch in s)]
        if not sentences:
            raise InputError("Текст пуст: нечего произносить.", "Text is empty after normalisation.", code="empty_text")
        return sentences

    async def stream(self, text: str, timer: StageTimer | None = None,
                     voice: Voice | None = None) -> AsyncIterator[AudioChunk]:
        """Yield one AudioChunk per sentence (in ``voice`` if given), synthesising off the event loop."""
        timer = timer or StageTimer()
        sentences = self.prepare_text(text)
        matcher = None
        if voice is not None and not self.capabilities.voice_cloning:
            with timer.measure("voice"):
                matcher = await asyncio.to_thread(self.voice_matcher, voice)
        for index, sentence in enumerate(sentences):
            with timer.measure("tts"):
                chunk = await asyncio.to_thread(self.synthesize_voiced, sentence, voice)
            if matcher is not None:
                with timer.measure("voice"):
                    chunk = await asyncio.to_thread(matcher.apply, chunk)
            yield AudioChunk(chunk.samples, chunk.sample_rate, chunk.text, chunk.phonemes, index)
