"""The TTS stage interface.

An engine implements one blocking method, :meth:`TTSEngine.synthesize_sentence`, that turns one
already-normalised sentence into an :class:`AudioChunk`. The base class does the plumbing: text
normalisation, sentence splitting, running the blocking call off the event loop, and streaming one
chunk per sentence so the next stage can start on sentence one while sentence two is synthesised.
Cancelling the consuming task stops synthesis after the sentence in flight.

Voices: an engine speaks its own voice here. One that declares ``capabilities.voice_cloning``
also speaks an enrolled :class:`Voice` itself: it overrides :meth:`TTSEngine.synthesize_voiced` and,
when it conditions on the voice, :meth:`TTSEngine.prepare_voice`. Speaking in a voice with any
engine - cloning, or light matching of every other engine's own voice - is the voice stage's
wrapper, ``ai_pipeline.voice.speaker.VoicedTTS``, which dispatches on that capability; this package
knows only the plain :class:`Voice` record (``ai_pipeline.voice.base``) and imports nothing else
of the voice stage.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.engine import Engine
from ai_pipeline.errors import InputError
from ai_pipeline.text.normalize import normalize_for_speech
from ai_pipeline.text.sentences import split_sentences
from ai_pipeline.timing import StageTimer
from ai_pipeline.voice.base import Voice

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class StandardVoice:
    """A voice an engine ships with (not an enrolled one): what a persona or the user picks from."""

    name: str  # the engine's id of the voice ("anna")
    label_ru: str  # shown to the user ("Анна")
    gender: str  # "female" | "male"
    licence: str  # SPDX-like id of the voice data's licence
    commercial: bool  # the licence allows commercial use (False: CC-BY-NC-*)


@dataclass(frozen=True)
class TTSCapabilities:
    """What an engine can do; callers adapt to this instead of branching on engine names."""

    phonemes: bool = False  # AudioChunk.phonemes carries timings usable for visemes
    voice_cloning: bool = False  # speaks in an enrolled voice itself (synthesize_voiced); else light matching


class TTSEngine(Engine):
    """Base class for every TTS engine (built from ``(settings, models_dir)`` like every engine)."""

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

    def standard_voices(self) -> list[StandardVoice]:
        """The voices this engine can speak, in the order to offer them (those the settings allow).

        Engines with one voice return nothing; pick one with :meth:`with_voice`.
        """
        return []

    def with_voice(self, name: str | None) -> TTSEngine:
        """This engine speaking the standard voice ``name`` (None or an engine without voices: itself).

        The result shares what is loaded (an engine with voices returns a light view of itself);
        closing it closes nothing. An unknown name raises InputError.
        """
        return self

    def voice_for(self, gender: str | None) -> str | None:
        """The standard voice for a persona without one: the configured voice when it has that
        gender (or no gender is given), else the first allowed voice of the gender."""
        voices = self.standard_voices()
        if not voices:
            return None
        configured = getattr(self.settings, "voice", None)
        chosen = next((v for v in voices if v.name == configured), voices[0])
        if gender in ("female", "male") and chosen.gender != gender:
            chosen = next((v for v in voices if v.gender == gender), chosen)
        return chosen.name

    def synthesize_voiced(self, text: str, voice: Voice | None) -> AudioChunk:
        """Synthesise one normalised sentence in ``voice`` itself (blocking; None: the engine's own voice).

        Cloning engines override this. Other engines cannot speak an enrolled voice: the voice stage
        matches their own voice to it instead (``ai_pipeline.voice.speaker.VoicedTTS``).
        """
        if voice is None:
            return self.synthesize_sentence(text)
        raise NotImplementedError(f"TTS engine {self.name!r} does not clone voices; "
                                  "ai_pipeline.voice.speaker.VoicedTTS matches its own voice instead")

    def prepare_voice(self, voice: Voice, progress: Progress | None = None) -> dict[str, Any]:
        """What a cloning engine needs to speak ``voice``, done once per voice version (blocking).

        Cloning engines that condition on the voice override this (XTTS: the speaker latents); the
        default has nothing to prepare. ``ai_pipeline.voice.prepare.prepare_voice`` calls it for
        cloning engines only: the light matching of the others is prepared there.
        """
        return {}

    def synthesize(self, text: str) -> list[AudioChunk]:
        """Blocking counterpart of :meth:`stream`: every sentence of ``text``, in the engine's own voice."""
        return [replace(self.synthesize_sentence(sentence), index=index)
                for index, sentence in enumerate(self.prepare_text(text))]

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
        """Yield one AudioChunk per sentence in the engine's own voice, synthesising off the event loop."""
        timer = timer or StageTimer()
        sentences = self.prepare_text(text)
        for index, sentence in enumerate(sentences):
            with timer.measure("tts"):
                chunk = await asyncio.to_thread(self.synthesize_sentence, sentence)
            yield replace(chunk, index=index)
