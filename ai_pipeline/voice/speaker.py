"""Speaking in an enrolled voice with any TTS engine: the voice stage wraps the TTS stage.

:class:`VoicedTTS` is a TTS engine plus an optional enrolled :class:`~ai_pipeline.voice.base.Voice`.
A cloning engine (``capabilities.voice_cloning``) gets the voice itself, sentence by sentence,
through its ``synthesize_voiced``. Any other engine speaks its own voice and the light matcher
(«подстройка голоса», :class:`~ai_pipeline.voice.match.VoiceMatcher`) moves each sentence towards
the voice; the matcher lookup (the first time for a voice: its profile and this engine's
calibration, a few seconds) and every sentence's matching are timed as the ``voice`` stage,
synthesis as the ``tts`` stage. Without a voice it is the engine as is.

The TTS package knows nothing of this (it names only the plain ``Voice`` record of ``voice/base.py``):
the voice stage imports TTS, never the reverse (tests/ai_pipeline/test_import_graph.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import replace

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.timing import StageTimer
from ai_pipeline.tts.base import TTSEngine
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.match import VoiceMatcher, matcher_for


class VoicedTTS:
    """``tts`` speaking in ``voice`` (its own voice when ``voice`` is None); thread-safe like ``tts``."""

    def __init__(self, tts: TTSEngine, voice: Voice | None = None) -> None:
        self.tts = tts
        self.voice = voice
        self._matcher: VoiceMatcher | None = None
        self._lock = threading.Lock()

    @property
    def cloning(self) -> bool:
        """The engine speaks the voice itself (no matching)."""
        return self.voice is not None and self.tts.capabilities.voice_cloning

    @property
    def matching(self) -> bool:
        """The engine's own voice is matched to the voice, sentence by sentence."""
        return self.voice is not None and not self.tts.capabilities.voice_cloning

    @property
    def sample_rate(self) -> int:
        return self.tts.sample_rate

    def matcher(self) -> VoiceMatcher | None:
        """The light matcher applied to each sentence (blocking; None: no voice, or a cloning engine).

        The first call for a voice may estimate its profile (if preparation has not) and calibrate
        the engine's own voice, a few seconds; later calls (and other instances) find both cached.
        """
        if not self.matching:
            return None
        assert self.voice is not None
        with self._lock:
            if self._matcher is None:
                self._matcher = matcher_for(self.tts, self.voice)
            return self._matcher

    def synthesize_sentence(self, sentence: str) -> AudioChunk:
        """One normalised sentence before matching: the voice itself from a cloning engine, else the
        engine's own voice (blocking)."""
        if self.cloning:
            return self.tts.synthesize_voiced(sentence, self.voice)
        return self.tts.synthesize_sentence(sentence)

    def synthesize(self, text: str) -> list[AudioChunk]:
        """Blocking counterpart of :meth:`stream`: every sentence of ``text``, in the voice."""
        matcher = self.matcher()
        chunks = []
        for index, sentence in enumerate(self.tts.prepare_text(text)):
            chunk = self.synthesize_sentence(sentence)
            if matcher is not None:
                chunk = matcher.apply(chunk)
            chunks.append(replace(chunk, index=index))
        return chunks

    async def stream(self, text: str, timer: StageTimer | None = None) -> AsyncIterator[AudioChunk]:
        """Yield one AudioChunk per sentence in the voice, synthesising and matching off the event loop.

        Like :meth:`TTSEngine.stream <ai_pipeline.tts.base.TTSEngine.stream>`: empty text raises
        InputError before anything runs, and cancelling the consumer stops after the sentence in flight.
        """
        timer = timer or StageTimer()
        sentences = self.tts.prepare_text(text)
        matcher = None
        if self.matching:
            with timer.measure("voice"):
                matcher = await asyncio.to_thread(self.matcher)
        for index, sentence in enumerate(sentences):
            with timer.measure("tts"):
                chunk = await asyncio.to_thread(self.synthesize_sentence, sentence)
            if matcher is not None:
                with timer.measure("voice"):
                    chunk = await asyncio.to_thread(matcher.apply, chunk)
            yield replace(chunk, index=index)
