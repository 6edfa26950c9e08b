"""One client's avatar video: a single fragmented-MP4 timeline, idle while listening, speech on cue.

The stream never stops while the client is connected: when no speech is queued it renders short idle
pieces (blinks, slight head motion, mouth closed) just ahead of playback; queued speech clips are
rendered at the very next frame index, so blinks and head motion continue across the join and there
is no jump. Output is paced against a playback clock so that, on barge-in, at most
``speech_lead_s`` of already-sent speech remains to play; everything still queued is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_pipeline import workers
from ai_pipeline.chunks import AudioChunk, FrameBatch, VideoSegment
from ai_pipeline.encode.fmp4 import FragmentedMp4Stream
from ai_pipeline.settings import EncoderSettings, RealtimeSettings
from ai_pipeline.talking_head.base import Avatar, TalkingHeadEngine

log = logging.getLogger(__name__)
RECOVER_S = 3.0  # a degraded stream renders idle video again after keeping up this long


@dataclass(frozen=True)
class Emitted:
    """A segment on its way to the client, with where it sits on the timeline."""

    segment: VideoSegment
    kind: str  # "init" | "idle" | "speech"
    turn: int
    start_s: float
    queued_s: float = 0.0  # video already sent but not yet played when this segment left


Sink = Callable[[Emitted], Awaitable[None]]


def segment_event(item: Emitted) -> tuple[str, dict[str, object]]:
    """The Socket.IO event carrying a segment (the same whether a server or a render worker sends it)."""
    return ("init" if item.kind == "init" else "segment"), {
        "data": item.segment.data, "mime": item.segment.mime, "kind": item.kind, "turn": item.turn,
        "t": round(item.start_s, 3), "duration": round(item.segment.duration, 3), "index": item.segment.index}


def stream_mime(encoder: EncoderSettings, head: TalkingHeadEngine, sample_rate: int) -> str:
    """The MediaSource type of a client's stream, read from a real encoder (no guessed codec string)."""
    probe = FragmentedMp4Stream(encoder, width=head.size, height=head.size, fps=head.fps, sample_rate=sample_rate)
    try:
        return probe.mime
    finally:
        probe.close()


def _resample(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst or len(samples) == 0:
        return samples
    n = int(round(len(samples) * dst / src))
    return np.interp(np.linspace(0, len(samples) - 1, n), np.arange(len(samples)), samples).astype(np.float32)


class AvatarStream:
    """Produces the client's segments; ``speak`` queues speech, ``interrupt`` drops it."""

    def __init__(self, head: TalkingHeadEngine, avatar: Avatar, *, sample_rate: int, encoder: EncoderSettings,
                 realtime: RealtimeSettings, sink: Sink,
                 post: Callable[[FrameBatch], FrameBatch] | None = None) -> None:
        self.head, self.avatar, self.rate = head, avatar, sample_rate
        self.post = post  # e.g. face enhancement, run on each batch before encoding
        self.settings = realtime
        self.sink = sink
        self.fps = head.fps
        self.frame = 0
        self._encoder = FragmentedMp4Stream(encoder, width=head.size, height=head.size, fps=self.fps,
                                            sample_rate=sample_rate)
        self._queue: asyncio.Queue[tuple[AudioChunk, int, asyncio.Future[None]]] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._dropped_turn = -1
        self._clock: float | None = None
        self._inflight: Future[Any] | None = None  # the render pool's current call for this stream
        self.behind_s = 0.0  # how far the newest segment left after its playback time (0: real time)
        self.degraded = False  # behind: idle video is a still frame until the stream catches up
        self._last: FrameBatch | None = None
        self._caught_up_at: float | None = None  # media time since which a degraded stream kept up

    @property
    def mime(self) -> str:
        return self._encoder.mime

    @property
    def media_time(self) -> float:
        return self.frame / self.fps

    def ahead(self) -> float:
        """Seconds of video sent but not yet played (by the playback clock)."""
        if self._clock is None:
            return 0.0
        return self.media_time - (time.monotonic() - self._clock)

    def speak(self, chunk: AudioChunk, turn: int) -> asyncio.Future[None]:
        """Queue a clip; the future resolves once its last segment has been sent (or it was dropped)."""
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

    async def run(self) -> None:
        try:
            while True:
                if self._queue.empty():
                    await self._idle()
                else:
                    chunk, turn, sent = self._queue.get_nowait()
                    try:
                        if turn > self._dropped_turn:
                            await self._speech(chunk, turn)
                    finally:
                        if not sent.done():
                            sent.set_result(None)
        finally:
            # a cancelled await does not stop the thread: close the encoder after its last call
            inflight = self._inflight
            if inflight is not None and not inflight.done():
                inflight.add_done_callback(lambda _: self._encoder.close())
            else:
                self._encoder.close()

    async def _off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        self._inflight = workers.submit("render", fn, *args)
        return await asyncio.wrap_future(self._inflight)

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
        silence = AudioChunk(np.zeros(int(round(n * self.rate / self.fps)), np.float32), self.rate)
        if self.degraded and self._last is not None:  # a still picture costs only its encoding
            still = np.repeat(self._last.frames[-1:], n, axis=0)
            await self._emit(FrameBatch(still, silence.samples, self.rate, self.fps, self.frame), "idle", 0)
            return
        await self._render(silence, "idle", 0)

    async def _speech(self, chunk: AudioChunk, turn: int) -> None:
        samples = _resample(chunk.samples, chunk.sample_rate, self.rate)
        audio = AudioChunk(samples, self.rate, chunk.text, chunk.phonemes, chunk.index)
        await self._render(audio, "speech", turn)

    async def _render(self, audio: AudioChunk, kind: str, turn: int) -> None:
        batches = self.head.render(self.avatar, audio, self.frame)
        while (batch := await self._off_loop(next, batches, None)) is not None:
            if kind == "speech" and turn <= self._dropped_turn:
                return
            while kind == "speech" and self.ahead() > self.settings.speech_lead_s:
                await asyncio.sleep(min(0.05, self.ahead() - self.settings.speech_lead_s))
                if turn <= self._dropped_turn:
                    return
            await self._emit(batch, kind, turn)

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

    async def _emit(self, batch: FrameBatch, kind: str, turn: int) -> None:
        start = self.media_time
        if self.post is not None:
            batch = await self._off_loop(self.post, batch)
        segments = await self._off_loop(self._encoder.push, batch)
        queued = max(0.0, self.ahead())
        self._track_lag()
        self.frame += len(batch.frames)
        self._last = batch
        if self._clock is None:
            self._clock = time.monotonic()
        for seg in segments:
            await self.sink(Emitted(seg, "init" if seg.is_init else kind, turn, 0.0 if seg.is_init else start, queued))
