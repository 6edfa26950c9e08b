"""The one speech-to-video streamer: audio chunks in, rendered, enhanced and encoded segments out.

Every avatar video is made by :class:`AvatarStream`, live or not:

* A conversation's stream (``realtime`` settings given, the fragmented-MP4 :func:`live_encoder`) never
  stops while the client is connected: when no speech is queued it renders short idle pieces with
  the engine's :meth:`~ai_pipeline.talking_head.base.TalkingHeadEngine.idle` (blinks, slight head
  motion, mouth closed) just ahead of playback; queued speech clips are rendered at the very next
  frame index, so blinks and head motion continue across the join and there is no jump. Output is
  paced against a playback clock so that, on barge-in, at most ``speech_lead_s`` of already-sent
  speech remains to play; everything still queued is dropped.
* A render (no ``realtime``, the whole-file :class:`~ai_pipeline.encode.mp4.Mp4Encoder`) speaks its
  clips back to back as fast as the machine goes, drawing the next batch while the last one is
  enhanced and encoded, and ends with the encoder's last segment (:meth:`AvatarStream.play`).

The face wears a look (:class:`~ai_pipeline.talking_head.expressions.Look`) that the stream moves on
as it goes: each speech clip's emotion (``AudioChunk.emotion``, as strong as its confidence), eased in
over ~300 ms; the thinking look while a reply is being made (:meth:`AvatarStream.think`), an attentive
one while the user speaks (:meth:`AvatarStream.listen`), and back to neutral a little after speech.

Speech frames come from the engine's ``render``, idle frames from its ``idle``; ``enhance`` (see
:meth:`~ai_pipeline.runner.Pipeline.enhancer_for`) is applied in one place, :meth:`AvatarStream._enhanced`;
the encoder is injected. Engine, enhancer and encoder calls run in the ``render`` pool
(:mod:`ai_pipeline.workers`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np

from ai_pipeline import workers
from ai_pipeline.chunks import AudioChunk, FrameBatch, VideoSegment
from ai_pipeline.encode.base import SegmentEncoder
from ai_pipeline.encode.fmp4 import FragmentedMp4Stream
from ai_pipeline.settings import EncoderSettings, RealtimeSettings
from ai_pipeline.streaming.protocol import SpeechStream
from ai_pipeline.talking_head.base import Avatar, TalkingHeadEngine
from ai_pipeline.talking_head.expressions import LISTENING, RECIPES, RELAX_S, THINKING, Look, intensity
from ai_pipeline.timing import StageTimer

log = logging.getLogger(__name__)
T = TypeVar("T")
RECOVER_S = 3.0  # a degraded stream renders idle video again after keeping up this long
HOLD_S = 1.0  # a clip's emotion stays this long after it, so that a short wait for the next clip does not flicker


@dataclass(frozen=True)
class Emitted:
    """A segment on its way to the client, with where it sits on the timeline."""

    segment: VideoSegment
    kind: str  # "init" | "idle" | "speech"
    turn: int
    start_s: float
    queued_s: float = 0.0  # video already sent but not yet played when this segment left
    chunk: int | None = None  # speech: the index of the clip's AudioChunk (live: the reply chunk it says)


Sink = Callable[[Emitted], Awaitable[None]]
Enhance = Callable[[FrameBatch], FrameBatch]  # one batch -> the same batch with the face enhanced (blocking)


def live_encoder(settings: EncoderSettings, head: TalkingHeadEngine, sample_rate: int) -> FragmentedMp4Stream:
    """The encoder of a conversation's stream: fragmented MP4, one media segment per batch."""
    return FragmentedMp4Stream(settings, width=head.size, height=head.size, fps=head.fps, sample_rate=sample_rate)


def stream_mime(settings: EncoderSettings, head: TalkingHeadEngine, sample_rate: int) -> str:
    """The MediaSource type of a client's stream, read from a real encoder (no guessed codec string)."""
    probe = live_encoder(settings, head, sample_rate)
    try:
        return probe.mime
    finally:
        probe.close()


def _resample(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst or len(samples) == 0:
        return samples
    n = int(round(len(samples) * dst / src))
    return np.interp(np.linspace(0, len(samples) - 1, n), np.arange(len(samples)), samples).astype(np.float32)


class AvatarStream(SpeechStream):
    """Produces a video's segments; ``speak`` queues speech, ``interrupt`` drops it, ``run`` sends.

    ``realtime`` makes it a live stream (idle video, playback clock, degraded when behind); without
    it, it is a render. ``timer`` (optional) accumulates ``talking_head``, ``enhance`` and ``encode``
    seconds and marks ``first_frames``; ``on_encoded`` is told the media time after every batch.
    """

    def __init__(self, head: TalkingHeadEngine, avatar: Avatar, *, sample_rate: int, encoder: SegmentEncoder,
                 sink: Sink, enhance: Enhance | None = None, realtime: RealtimeSettings | None = None,
                 timer: StageTimer | None = None, on_encoded: Callable[[float], None] | None = None) -> None:
        self.head, self.avatar, self.rate = head, avatar, sample_rate
        self.enhance = enhance
        self.live = realtime is not None
        self.settings = realtime or RealtimeSettings()
        self.sink = sink
        self.timer = timer
        self.on_encoded = on_encoded
        self.fps = head.fps
        self.frame = 0
        self._encoder = encoder
        self._queue: asyncio.Queue[tuple[AudioChunk, int, asyncio.Future[None]]] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._dropped_turn = -1
        self._ending = False
        self._clock: float | None = None  # when the first segment left (live streams only)
        self._inflight: set[Future[Any]] = set()  # the render pool's unfinished calls for this stream
        self.behind_s = 0.0  # how far the newest segment left after its playback time (0: real time)
        self.degraded = False  # behind: idle video is a still frame until the stream catches up
        self.thinking = False  # a reply is being made: the thinking look, at half the frame rate (see ``think``)
        self.listening = False  # the user is speaking: an attentive look (see ``listen``)
        self.look = Look()  # the expression the face wears, eased from clip to clip
        self._spoke_until = -1  # the frame after the last speech frame sent
        self._held: tuple[int, np.ndarray] | None = None  # the last frame drawn at half rate, and its index
        self._last: FrameBatch | None = None
        self._last_kind, self._last_turn = "idle", 0
        self._last_chunk: int | None = None
        self._caught_up_at: float | None = None  # media time since which a degraded stream kept up

    @property
    def mime(self) -> str:
        return self._encoder.mime

    @property
    def media_time(self) -> float:
        return self.frame / self.fps

    def ahead(self) -> float:
        """Seconds of video sent but not yet played (by the playback clock; always 0 for a render)."""
        if self._clock is None:
            return 0.0
        return self.media_time - (time.monotonic() - self._clock)

    def speak(self, chunk: AudioChunk, turn: int) -> asyncio.Future[None]:
        """Queue a clip; the future resolves once its last segment has been sent (or it was dropped)."""
        if self._ending:
            raise RuntimeError("the stream has ended")
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((chunk, turn, sent))
        self._wake.set()
        return sent

    def interrupt(self, turn: int) -> None:
        """Drop every queued clip of ``turn`` (and stop the one being rendered)."""
        self._dropped_turn = max(self._dropped_turn, turn)
        while not self._queue.empty():
            _, _, sent = self._queue.get_nowait()
            if not sent.done():
                sent.set_result(None)
        self._wake.set()

    def end(self) -> None:
        """No more speech: :meth:`run` sends what is queued, then the encoder's last segments, and returns."""
        self._ending = True
        self._wake.set()

    async def play(self, speech: AsyncIterator[AudioChunk], turn: int = 0) -> None:
        """Run the stream over every chunk of ``speech`` (queued as it arrives, so the next sentence's
        TTS overlaps this one's video), then end it; an error of either is raised here."""
        running = asyncio.create_task(self.run())
        try:
            async for chunk in speech:
                if running.done():
                    break
                self.speak(chunk, turn)
            self.end()
            await running
        finally:
            if not running.done():
                running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    async def run(self) -> None:
        try:
            while True:
                if self._queue.empty():
                    if self._ending:
                        await self._finish()
                        return
                    await (self._idle() if self.live else self._wait())
                else:
                    chunk, turn, sent = self._queue.get_nowait()
                    try:
                        if turn > self._dropped_turn:
                            await self._speech(chunk, turn)
                    finally:
                        if not sent.done():
                            sent.set_result(None)
        finally:
            # a cancelled await does not stop the thread: close the encoder after the pool's last call
            busy = [f for f in self._inflight if not f.done()]
            if busy:
                def close_when_idle(_: Future[Any]) -> None:
                    if all(f.done() for f in busy):
                        self._encoder.close()  # idempotent, so two last calls may both get here

                for future in busy:
                    future.add_done_callback(close_when_idle)
            else:
                self._encoder.close()

    def _submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        future = workers.submit("render", fn, *args)
        self._inflight = {f for f in self._inflight if not f.done()} | {future}
        return asyncio.wrap_future(future)

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._submit(fn, *args)

    def _timed(self, stage: str, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn``, adding its seconds (in the pool thread) to ``stage`` of the timer, if there is one."""
        timer = self.timer
        if timer is None:
            return fn

        def timed(*args: Any) -> T:
            with timer.measure(stage):
                return fn(*args)

        return timed

    async def _wait(self) -> None:
        """A render with nothing queued waits for the next clip (or the end): no idle video."""
        self._wake.clear()
        await self._wake.wait()

    async def _idle(self) -> None:
        lead = self.settings.idle_lead_s
        if self.ahead() > lead:
            self._wake.clear()
            try:
                # not wait_for: on Python 3.11 it loses a cancellation that lands as the event is set,
                # and the stream of a client that left would run on
                async with asyncio.timeout(self.ahead() - lead):
                    await self._wake.wait()
            except TimeoutError:
                pass
            return
        n = self.settings.idle_batch_frames
        avatar = self._idle_look()
        if self.thinking and self.settings.thinking_half_rate and not self.degraded:
            batch, self._held = await self._off_loop(self._timed("talking_head", _half_rate), self.head,
                                                     avatar, n, self.rate, self.frame, self._held)
            await self._emit(batch, "idle", 0)
            return
        if self.degraded and self._last is not None:  # a still picture costs only its encoding
            silence = np.zeros(int(round(n * self.rate / self.fps)), np.float32)
            still = np.repeat(self._last.frames[-1:], n, axis=0)
            await self._emit(FrameBatch(still, silence, self.rate, self.fps, self.frame), "idle", 0)
            return
        await self._render(self.head.idle(avatar, n / self.fps, self.rate, self.frame), "idle", 0)

    def think(self, on: bool) -> None:
        """While the user waits for a reply (from the end of their speech to its first speech), idle
        video shows the thinking look (gaze aside, lips together) and, with ``thinking_half_rate``, is
        drawn at half the frame rate, each frame shown twice: the cores go to recognising the speech and
        starting the reply, which is what the user waits for."""
        self.thinking = on

    def listen(self, on: bool) -> None:
        """While the user speaks (``on``), idle video shows an attentive listener: eyes on the viewer,
        small nods, now and then a brow raise."""
        self.listening = on

    def _idle_look(self) -> Avatar:
        """The avatar wearing the look of idle video from the current frame on."""
        if self.thinking:
            self.look = self.look.toward({THINKING: 1.0}, self.frame, self.fps)
        elif self.listening:
            self.look = self.look.toward({LISTENING: 1.0}, self.frame, self.fps)
        elif self.look.target:
            # relax to neutral, after holding the last clip's look a moment (and once its own easing is done)
            start = max(self.frame, self._spoke_until + round(HOLD_S * self.fps),
                        self.look.since + int(np.ceil(self.look.ease_s * self.fps)))
            self.look = self.look.toward({}, start, self.fps, RELAX_S)
        return self.avatar.wearing(self.look)

    def _speech_look(self, chunk: AudioChunk) -> Avatar:
        """The avatar wearing ``chunk``'s emotion from the current frame on (from the start, for a first clip)."""
        known = chunk.emotion in RECIPES and chunk.emotion != LISTENING
        if not known:
            log.warning("unknown emotion %r of a speech clip: shown as neutral", chunk.emotion)
        target = {chunk.emotion: intensity(chunk.emotion_confidence)} if known else {}
        self.look = Look.of(target) if self.frame == 0 else self.look.toward(target, self.frame, self.fps)
        return self.avatar.wearing(self.look)

    async def _speech(self, chunk: AudioChunk, turn: int) -> None:
        samples = _resample(chunk.samples, chunk.sample_rate, self.rate)
        audio = replace(chunk, samples=samples, sample_rate=self.rate)
        avatar = self._speech_look(audio)
        await self._render(self.head.render(avatar, audio, self.frame), "speech", turn, chunk.index)

    async def _render(self, batches: Iterator[FrameBatch], kind: str, turn: int, chunk: int | None = None) -> None:
        """Send the engine's batches of one clip; a live stream draws each batch after the previous
        one left (pacing and barge-in decide per batch), a render draws the next one meanwhile."""
        draw = self._timed("talking_head", next)
        pending = self._submit(draw, batches, None)
        try:
            while (batch := await pending) is not None:
                if not self.live:
                    pending = self._submit(draw, batches, None)
                if kind == "speech" and turn <= self._dropped_turn:
                    return
                while kind == "speech" and self.ahead() > self.settings.speech_lead_s:
                    await asyncio.sleep(min(0.05, self.ahead() - self.settings.speech_lead_s))
                    if turn <= self._dropped_turn:
                        return
                await self._emit(await self._enhanced(batch), kind, turn, chunk)
                if self.live:
                    pending = self._submit(draw, batches, None)
        finally:
            pending.cancel()  # a batch drawn ahead of a dropped clip is not waited for

    async def _enhanced(self, batch: FrameBatch) -> FrameBatch:
        """The one place where frames are enhanced, live or rendered (the hook runs in the render pool)."""
        if self.enhance is None:
            return batch
        return await self._off_loop(self._timed("enhance", self.enhance), batch)

    def _track_lag(self) -> None:
        """Behind when playback has caught up with what was sent (the client would stall): idle video
        turns into a still frame until the stream has kept up for ``RECOVER_S`` of media again."""
        if self._clock is None:
            return
        self.behind_s = max(0.0, -self.ahead())
        if self.behind_s > self.settings.behind_s:
            if not self.degraded:
                log.warning("avatar stream %.2f s behind real time: idle video degraded to a still frame",
                            self.behind_s)
            self.degraded, self._caught_up_at = True, None
        elif self.degraded and self.behind_s == 0.0:
            if self._caught_up_at is None:
                self._caught_up_at = self.media_time
            elif self.media_time - self._caught_up_at >= RECOVER_S:
                self.degraded, self._caught_up_at = False, None

    async def _emit(self, batch: FrameBatch, kind: str, turn: int, chunk: int | None = None) -> None:
        start = self.media_time
        if self.timer is not None:
            self.timer.mark("first_frames")
        segments = await self._off_loop(self._timed("encode", self._encoder.push), batch)
        queued = max(0.0, self.ahead())
        self._track_lag()
        self.frame += len(batch.frames)
        if kind == "speech":
            self._spoke_until = self.frame
        self._last, self._last_kind, self._last_turn, self._last_chunk = batch, kind, turn, chunk
        if self._clock is None and self.live:
            self._clock = time.monotonic()
        if self.on_encoded is not None:
            self.on_encoded(self.media_time)
        for seg in segments:
            await self.sink(Emitted(seg, "init" if seg.is_init else kind, turn, 0.0 if seg.is_init else start, queued,
                                    None if seg.is_init else chunk))

    async def _finish(self) -> None:
        """The encoder's last segments (a live stream's audio tail; a render's whole file)."""
        segments = await self._off_loop(self._timed("encode", self._encoder.flush))
        queued = max(0.0, self.ahead())
        for seg in segments:
            start = 0.0 if seg.is_init else max(0.0, self.media_time - seg.duration)
            await self.sink(Emitted(seg, "init" if seg.is_init else self._last_kind, self._last_turn, start, queued,
                                    None if seg.is_init else self._last_chunk))


def _half_rate(head: TalkingHeadEngine, avatar: Avatar, n: int, rate: int, frame: int,
               held: tuple[int, np.ndarray] | None) -> tuple[FrameBatch, tuple[int, np.ndarray] | None]:
    """``n`` idle frames from ``frame`` on where only even frames are drawn and odd ones repeat the
    frame before (render pool); ``held`` is the last frame drawn before, reused when it is that one."""
    frames = []
    for index in range(frame, frame + n):
        even = index - index % 2
        if held is None or held[0] != even:
            drawn = next(iter(head.idle(avatar, 1 / head.fps, rate, even)))
            held = (even, drawn.frames[0])
        frames.append(held[1])
    silence = np.zeros(int(round(n * rate / head.fps)), np.float32)
    return FrameBatch(np.stack(frames), silence, rate, head.fps, frame), held
