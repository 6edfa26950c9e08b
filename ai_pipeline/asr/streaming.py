"""Turn a live 16 kHz microphone stream into utterances and transcripts.

:class:`StreamingRecognizer` is fed chunks of any size (a browser sends 100-250 ms) and answers
with typed events. Per utterance, in order::

    SpeechStarted -> PartialTranscript* -> [UtteranceTooLong] -> SpeechEnded -> FinalTranscript

Silero VAD decides speech per 32 ms window, with hysteresis (speech above ``threshold``, silence
below ``threshold - 0.15``). Speech must last ``min_speech_ms`` to open an utterance (clicks and
blips are ignored), and ``max_utterance_s`` cuts it. What closes it:

* without a turn detector (or ``end_of_turn: silence``): ``hangover_ms`` of silence;
* with one (Smart Turn): after ``turn_check_ms`` of silence, and again every ``turn_check_ms``, the
  detector hears the utterance; a turn it judges finished ends where the silence began, an
  unfinished one (the speaker pauses mid-sentence) is given up to ``max_hangover_ms``.

Speculative recognition: after ``speculative_asr_ms`` of silence the utterance so far is already
transcribed, while the end of turn is still being decided. When the turn ends at that silence, that
transcript is the final one (no second ASR call); when speech goes on, it is discarded. Until the
turn ends it is handed out as a partial transcript (the caller may prepare an answer on it).

ASR runs off the event loop, one call at a time: a partial transcript is skipped while the
recogniser is busy, a final one waits for it. ``feed`` never waits for ASR, so results that finish
between two chunks come out of the next ``feed`` (or at once from :meth:`events`). Events of one
utterance share its ``utterance`` number, because a final may arrive after the next utterance has
started. Memory is bounded: audio is kept for the current utterance (at most ``max_utterance_s``
plus padding) and at most one final waits behind the running ASR call before ``feed`` waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import numpy as np

from typing import Protocol

from ai_pipeline.asr.base import ASREngine
from ai_pipeline.asr.vad import SAMPLE_RATE, WINDOW, SileroVAD
from ai_pipeline.chunks import Transcript
from ai_pipeline.errors import AvatarError, EngineFailed, InputError
from ai_pipeline.settings import VADSettings

log = logging.getLogger(__name__)

_HYSTERESIS = 0.15  # silero's own: speech ends below threshold - 0.15
_MIN_ASR_SAMPLES = SAMPLE_RATE // 10  # ASREngine.check refuses less than 0.1 s


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechStarted:
    """The user began speaking at ``at_s`` seconds of stream time (known ``min_speech_ms`` later)."""

    utterance: int
    at_s: float


@dataclass(frozen=True)
class PartialTranscript:
    """What was recognised so far (``transcript.final`` is False), up to ``at_s`` of stream time.
    ``speculative``: the whole utterance up to the silence now being judged; if that silence ends the
    turn, this very transcript becomes the final one."""

    utterance: int
    at_s: float
    transcript: Transcript
    speculative: bool = False


@dataclass(frozen=True)
class UtteranceTooLong:
    """The utterance reached ``limit_s`` and was cut at ``at_s``; its final transcript follows."""

    utterance: int
    at_s: float
    limit_s: float

    @property
    def message_ru(self) -> str:
        return f"Фраза длиннее {self.limit_s:g} с: распознаю сказанное до этого места."


@dataclass(frozen=True)
class SpeechEnded:
    """The user stopped speaking at ``at_s`` (where the closing silence began, or the cut)."""

    utterance: int
    at_s: float


@dataclass(frozen=True)
class FinalTranscript:
    """The transcript of a whole utterance (``transcript.final`` is True).

    ``start_s``/``end_s``: the speech in stream time; ``offset_s``: where the audio given to ASR
    begins (segment times in ``transcript`` are relative to it). ``latency_s``: from the end of
    speech to the transcript being ready, in wall time, the end of speech being mapped from audio
    time through the wall time of the ``feed`` call that delivered it (exact when fed in real time;
    otherwise the audio after the end of speech, hangover included, counts as if waited for).
    """

    utterance: int
    start_s: float
    end_s: float
    offset_s: float
    transcript: Transcript
    latency_s: float
    truncated: bool = False


@dataclass(frozen=True)
class RecognitionFailed:
    """ASR failed on a whole utterance; ``error.message_ru`` can be shown to the user."""

    utterance: int
    error: AvatarError


class TurnDetector(Protocol):
    """Judges from the audio of a turn so far whether the speaker has finished (thread-safe, blocking)."""

    def probability(self, samples: np.ndarray) -> float: ...


Event = SpeechStarted | PartialTranscript | UtteranceTooLong | SpeechEnded | FinalTranscript | RecognitionFailed


@dataclass(frozen=True)
class _Job:
    """One ASR call: a partial, or a final with what its event needs."""

    utterance: int
    generation: int
    audio: np.ndarray
    final: bool
    at_s: float = 0.0
    start_s: float = 0.0
    end_s: float = 0.0
    offset_s: float = 0.0
    end_wall: float = 0.0
    truncated: bool = False
    speculative: bool = False  # transcribed before the end of turn was decided


# --- recogniser --------------------------------------------------------------------------------


class StreamingRecognizer:
    """Voice activity + ASR over a live stream; see the module docstring for the event order.

    ``cancel()`` (barge-in) drops the utterance being heard and every transcript not yet handed
    out, and keeps listening; ``reset()`` also starts a new stream (time 0, fresh VAD state).
    ``vad`` must be this stream's own detector (``shared.clone()``); None loads one, which blocks
    for about 0.1 s, so build recognisers off the event loop or pass a clone. ``turn``: the end-of-turn
    model (shared; used when ``settings.end_of_turn`` is ``smart_turn``).
    """

    def __init__(self, asr: ASREngine, settings: VADSettings, max_utterance_s: float, *,
                 language: str | None = None, vad: SileroVAD | None = None,
                 turn: TurnDetector | None = None) -> None:
        if max_utterance_s <= 0:
            raise ValueError("max_utterance_s must be positive")
        self.asr = asr
        self.settings = settings
        self.language = language
        self.vad = vad or SileroVAD()
        ms = SAMPLE_RATE // 1000
        self._on = settings.threshold
        self._off = max(0.01, settings.threshold - _HYSTERESIS)
        self.turn = turn if settings.end_of_turn == "smart_turn" else None
        self._hangover = (settings.max_hangover_ms if self.turn is not None else settings.hangover_ms) * ms
        self._check_every = settings.turn_check_ms * ms
        self._spec_after = settings.speculative_asr_ms * ms
        self._min_speech = settings.min_speech_ms * ms
        self._partial_every = settings.partial_every_ms * ms
        self._pad = settings.pad_ms * ms
        self._max_utterance = int(round(max_utterance_s * SAMPLE_RATE))
        self._feed_lock = asyncio.Lock()
        self._ready_signal = asyncio.Event()
        self._inflight: asyncio.Task[Transcript] | None = None
        self._finals: deque[_Job] = deque()
        self._stream = 0
        self._generation = 0
        self._utterances = 0
        self._vad_stale = False
        self._new_stream()

    # -- public API ----------------------------------------------------------------------------

    async def feed(self, chunk: np.ndarray) -> list[Event]:
        """Take the next chunk of 16 kHz mono float32 audio; return the events it completed, plus
        any transcripts that became ready since the last call."""
        called = time.monotonic()  # when the chunk arrived: its last sample was just recorded
        samples = _as_chunk(chunk)
        async with self._feed_lock:
            stream = self._stream
            if self._vad_stale:
                self.vad.reset()
                self._vad_stale = False
            pending = np.concatenate([self._vad_tail, samples])
            whole = pending.size // WINDOW * WINDOW
            probs = (await asyncio.to_thread(self.vad.probabilities, pending[:whole], stream=True)
                     if whole else np.zeros(0, np.float32))
            if stream != self._stream:  # reset() while the VAD ran: the chunk belongs to the old stream
                return []
            self._append(samples)
            self._vad_tail = pending[whole:]
            for p in probs:
                self._step(float(p), called)
                self._vad_pos += WINDOW
            if self._check_due and not self._waits_for_transcript():
                await self._check_turn(stream, called)
                if stream != self._stream:
                    return []
            self._maybe_partial()
            self._trim()
            self._pump()
            while len(self._finals) > 1 and self._inflight is not None:  # back-pressure on slow ASR
                await asyncio.wait({self._inflight})
            return self._take_ready()

    async def flush(self) -> list[Event]:
        """End of stream: close an open utterance, wait for every pending ASR call, return the rest."""
        async with self._feed_lock:
            called = time.monotonic()
            if self._speaking:
                end = self._silence_from if self._silence_from is not None else self._pos
                self._close(end, called, truncated=False)
            self._candidate = None
            self._pump()
            while self._inflight is not None:
                await asyncio.wait({self._inflight})
            return self._take_ready()

    async def events(self, chunks: AsyncIterator[np.ndarray]) -> AsyncIterator[Event]:
        """Feed ``chunks`` and yield events as soon as they exist, transcripts included; flushes
        at the end of ``chunks``."""
        source = aiter(chunks)
        next_chunk: asyncio.Future[np.ndarray] = asyncio.ensure_future(anext(source))
        try:
            while True:
                ready = asyncio.ensure_future(self._ready_signal.wait())
                done, _ = await asyncio.wait({next_chunk, ready}, return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                for event in self._take_ready():
                    yield event
                if next_chunk in done:
                    try:
                        chunk = next_chunk.result()
                    except StopAsyncIteration:
                        break
                    next_chunk = asyncio.ensure_future(anext(source))
                    for event in await self.feed(chunk):
                        yield event
            for event in await self.flush():
                yield event
        finally:
            next_chunk.cancel()

    async def next_ready(self) -> list[Event]:
        """Wait for events no ``feed`` has handed out yet (a transcript that finished after the last
        chunk arrived, e.g. when the client stopped sending) and take them."""
        await self._ready_signal.wait()
        return self._take_ready()

    def cancel(self) -> None:
        """Barge-in: drop the utterance being heard and all transcripts not handed out yet.

        An ASR call already running cannot be stopped; its result is discarded and the next call
        waits for it, so there is still never more than one."""
        self._generation += 1
        self._finals.clear()
        self._ready.clear()
        self._ready_signal.clear()
        self._speaking = False
        self._candidate = None
        self._silence_from = None
        self._drop_speculation()
        self._confirmed.clear()
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        self._trim()

    def close(self) -> None:
        """The client left: :meth:`cancel`, and the running ASR call's result goes nowhere (its
        thread ends on its own; nothing waits for it)."""
        self.cancel()
        if self._inflight is not None:
            self._inflight.cancel()

    def reset(self) -> None:
        """Start a new stream: :meth:`cancel`, stream time back to 0, fresh VAD state."""
        self.cancel()
        self._stream += 1
        self._vad_stale = True
        self._new_stream()

    @property
    def busy(self) -> bool:
        """True while an ASR call runs or a final (or a speculative one) waits for one."""
        return self._inflight is not None or bool(self._finals) or self._spec_waiting

    # -- stream state --------------------------------------------------------------------------

    def _new_stream(self) -> None:
        self._pos = 0  # samples received
        self._vad_pos = 0  # start of the next VAD window
        self._vad_tail = np.zeros(0, np.float32)
        self._audio: list[np.ndarray] = []
        self._audio_start = 0  # stream sample index of self._audio[0][0]
        self._speaking = False
        self._candidate: int | None = None  # first speech window not yet long enough to count
        self._start = 0
        self._silence_from: int | None = None
        self._next_partial = 0
        self._ready: list[Event] = []
        self._check_due = False  # the turn detector is to be asked (after this chunk, or the speculative call)
        self._deferred: asyncio.Task[None] | None = None  # a check that waited for the speculative call
        self._next_check = 0  # silence (samples) at which it is asked next
        self._spec: _Job | None = None  # the speculative transcription of this silence
        self._spec_waiting = False  # ... not started yet (a partial runs)
        self._spec_result: Transcript | BaseException | None = None  # ... finished before the turn ended
        self._confirmed: dict[int, _Job] = {}  # id of a running speculative call -> the final it became

    def _append(self, samples: np.ndarray) -> None:
        if samples.size:
            self._audio.append(samples)
            self._pos += samples.size

    def _slice(self, start: int, end: int) -> np.ndarray:
        start = max(start, self._audio_start)
        audio = np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)
        return audio[start - self._audio_start:end - self._audio_start].copy()

    def _trim(self) -> None:
        """Outside speech keep only what a new utterance may need: its padding and candidate."""
        if self._speaking:
            return
        keep_from = (self._candidate if self._candidate is not None else self._vad_pos) - self._pad
        while self._audio and self._audio_start + self._audio[0].size <= keep_from:
            self._audio_start += self._audio.pop(0).size

    # -- decisions per 32 ms window ------------------------------------------------------------

    def _step(self, p: float, called: float) -> None:
        start, end = self._vad_pos, self._vad_pos + WINDOW
        if not self._speaking:
            if p >= self._on and self._candidate is None:
                self._candidate = start
            elif p < self._off:
                self._candidate = None
            if self._candidate is not None and end - self._candidate >= self._min_speech:
                self._open(self._candidate)
            return
        if p >= self._on:
            if self._silence_from is not None:  # speech goes on: what was guessed about its end is void
                self._drop_speculation()
                self._check_due = False
            self._silence_from = None
        elif p < self._off and self._silence_from is None:
            self._silence_from = start
            self._next_check = self._check_every
        silent = end - self._silence_from if self._silence_from is not None else -1
        if silent >= 0 and self._spec_after and self._spec is None and silent >= self._spec_after:
            self._speculate()
        if silent >= self._hangover:
            self._close(self._silence_from, called, truncated=False)
        elif self.turn is not None and silent >= self._next_check:
            self._check_due = True
            self._next_check = silent + self._check_every
        elif end - self._start >= self._max_utterance:
            self._emit(UtteranceTooLong(self._utterances, end / SAMPLE_RATE, self._max_utterance / SAMPLE_RATE))
            self._close(end, called, truncated=True)

    def _open(self, start: int) -> None:
        self._utterances += 1
        self._speaking, self._candidate, self._silence_from = True, None, None
        self._start = start
        self._next_partial = start + self._partial_every
        self._emit(SpeechStarted(self._utterances, start / SAMPLE_RATE))

    def _close(self, end: int, called: float, *, truncated: bool) -> None:
        """Emit SpeechEnded at sample ``end`` and queue the final ASR call of the utterance (or take
        the speculative one made of this very silence)."""
        self._emit(SpeechEnded(self._utterances, end / SAMPLE_RATE))
        end_wall = called - (self._pos - end) / SAMPLE_RATE  # wall time of `end` if fed in real time
        spec, result, waiting = self._spec, self._spec_result, self._spec_waiting
        if spec is not None and not truncated and spec.end_s == end / SAMPLE_RATE:
            self._drop_speculation()
            final = replace(spec, speculative=False, end_wall=end_wall)
            if result is not None:
                self._emit_final(final, result, time.monotonic())
            elif waiting:  # not started yet: it is the final job now
                self._finals.append(final)
            else:  # being transcribed: emitted when it finishes
                self._confirmed[id(spec)] = final
        else:
            self._drop_speculation()
            offset = max(self._audio_start, self._start - self._pad)
            audio = self._slice(offset, min(end + self._pad, self._pos))
            self._finals.append(_Job(self._utterances, self._generation, audio, final=True,
                                     start_s=self._start / SAMPLE_RATE, end_s=end / SAMPLE_RATE,
                                     offset_s=offset / SAMPLE_RATE, end_wall=end_wall, truncated=truncated))
        self._speaking, self._silence_from, self._check_due = False, None, False

    # -- end of turn and speculation -----------------------------------------------------------

    async def _check_turn(self, stream: int, called: float) -> None:
        """Ask the turn detector whether the silence that began at ``_silence_from`` ends the turn."""
        self._check_due = False
        silence_from, utterance = self._silence_from, self._utterances
        if not self._speaking or silence_from is None or self.turn is None:
            return
        audio = self._slice(max(self._audio_start, self._start - self._pad), self._pos)
        try:
            finished = await asyncio.to_thread(self.turn.probability, audio) >= self.settings.turn_threshold
        except Exception:  # noqa: BLE001 - the silence rule still ends the turn
            log.exception("turn detector failed; the turn ends after %d ms of silence", self.settings.max_hangover_ms)
            return
        if (finished and stream == self._stream and self._speaking and self._utterances == utterance
                and self._silence_from == silence_from):
            self._close(silence_from, called, truncated=False)

    def _waits_for_transcript(self) -> bool:
        """With ``turn_after_transcript``, whether the turn detector waits for the speculative
        transcription of this silence, still running or waiting (both want the cores; the detector
        judges better after a longer silence, so fewer turns end too early, but the end of turn comes
        after the transcript instead of beside it)."""
        return self.settings.turn_after_transcript and self._spec is not None and self._spec_result is None

    async def _check_later(self) -> None:
        async with self._feed_lock:
            if self._check_due and not self._waits_for_transcript():
                await self._check_turn(self._stream, time.monotonic())

    def _speculate(self) -> None:
        """Transcribe the utterance up to the silence now (plus what padding has arrived)."""
        end = self._silence_from
        assert end is not None
        offset = max(self._audio_start, self._start - self._pad)
        self._spec = _Job(self._utterances, self._generation, self._slice(offset, min(end + self._pad, self._pos)),
                          final=True, at_s=self._pos / SAMPLE_RATE, start_s=self._start / SAMPLE_RATE,
                          end_s=end / SAMPLE_RATE, offset_s=offset / SAMPLE_RATE, speculative=True)
        self._spec_result = None
        self._spec_waiting = True
        self._pump()

    def _drop_speculation(self) -> None:
        """Forget the speculative transcript (a running call's result will be dropped)."""
        self._spec, self._spec_result, self._spec_waiting = None, None, False

    def _emit_final(self, job: _Job, result: Transcript | BaseException, ready: float) -> None:
        if isinstance(result, BaseException):
            self._emit(RecognitionFailed(job.utterance, _as_avatar_error(result)))
        else:
            self._emit(FinalTranscript(job.utterance, job.start_s, job.end_s, job.offset_s,
                                       replace(result, final=True), latency_s=ready - job.end_wall,
                                       truncated=job.truncated))

    def _maybe_partial(self) -> None:
        """Every ``partial_every_ms`` of speech, transcribe what was said so far unless ASR is busy
        (a skipped partial waits for the next interval) or the speaker has fallen silent."""
        if not self._speaking or self._silence_from is not None or self._vad_pos < self._next_partial:
            return
        self._next_partial = self._vad_pos + self._partial_every
        if self.busy:
            return
        offset = max(self._audio_start, self._start - self._pad)
        job = _Job(self._utterances, self._generation, self._slice(offset, self._pos), final=False,
                   at_s=self._pos / SAMPLE_RATE)
        self._start_job(job)

    # -- ASR, one call at a time ---------------------------------------------------------------

    def _pump(self) -> None:
        if self._inflight is not None:
            return
        if self._finals:
            self._start_job(self._finals.popleft())
        elif self._spec_waiting and self._spec is not None:
            self._spec_waiting = False
            self._start_job(self._spec)

    def _start_job(self, job: _Job) -> None:
        audio = job.audio
        if audio.size < _MIN_ASR_SAMPLES:
            audio = np.pad(audio, (0, _MIN_ASR_SAMPLES - audio.size))
        task = asyncio.ensure_future(self.asr.atranscribe(audio, language=self.language))
        task.add_done_callback(lambda done: self._finished(done, job))
        self._inflight = task

    def _finished(self, task: asyncio.Task[Transcript], job: _Job) -> None:
        ready = time.monotonic()
        self._inflight = None
        if job.speculative:
            self._speculated(task, job, ready)
        elif job.generation == self._generation and not task.cancelled():
            error = task.exception()
            if job.final:
                self._emit_final(job, task.result() if error is None else error, ready)
            elif error is None and self._speaking and job.utterance == self._utterances:
                self._emit(PartialTranscript(job.utterance, job.at_s, replace(task.result(), final=False)))
            elif error is not None:
                log.warning("partial transcript failed: %s", error)
        elif not task.cancelled() and task.exception() is not None:
            log.debug("dropped ASR call failed: %s", task.exception())
        self._pump()

    def _speculated(self, task: asyncio.Task[Transcript], job: _Job, ready: float) -> None:
        final = self._confirmed.pop(id(job), None)
        if task.cancelled() or job.generation != self._generation or (final is None and job is not self._spec):
            return  # speech went on, or the stream was cancelled
        error = task.exception()
        result: Transcript | BaseException = task.result() if error is None else error
        if final is not None:  # the turn ended on this silence meanwhile
            self._emit_final(final, result, ready)
            return
        self._spec_result = result
        if error is None and self._speaking and job.utterance == self._utterances:
            self._emit(PartialTranscript(job.utterance, job.at_s, replace(result, final=False), speculative=True))
        if self._check_due and self.settings.turn_after_transcript:  # the turn detector waited for this call
            self._deferred = asyncio.ensure_future(self._check_later())

    def _emit(self, event: Event) -> None:
        self._ready.append(event)
        self._ready_signal.set()

    def _take_ready(self) -> list[Event]:
        events, self._ready = self._ready, []
        self._ready_signal.clear()
        return events


def _as_chunk(chunk: np.ndarray) -> np.ndarray:
    samples = np.asarray(chunk)
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.floating):
        raise InputError("Ожидается моно-звук 16 кГц в формате float32.",
                         f"Expected 1-D float samples, got {samples.dtype} {samples.shape}.")
    return samples.astype(np.float32, copy=False)


def _as_avatar_error(error: BaseException) -> AvatarError:
    if isinstance(error, AvatarError):
        return error
    return EngineFailed("Не удалось распознать речь.", f"ASR failed: {error!r}")
