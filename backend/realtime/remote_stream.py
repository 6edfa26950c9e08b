"""The server's side of an avatar stream that a render worker owns (``realtime.executor: queue``).

A :class:`~ai_pipeline.streaming.SpeechStream` like the local AvatarStream, but every clip is pushed
to the worker through Redis (:mod:`backend.realtime.commands`); the worker's
:func:`~backend.realtime.commands.serve_commands` drives its own AvatarStream with them, which
renders, encodes and emits the segments straight to the client's room, and sends back a notice when
a clip is out (which ends the turn) or a turn's first segment left (for timings).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.streaming import SpeechStream
from backend.realtime.commands import (
    CLIP_SENT,
    FIRST_SEGMENT,
    INTERRUPT,
    SPEAK,
    STOP,
    Message,
    command_key,
    notice_key,
    pack_audio_chunk,
)

JOB = "avatar_stream"


class RemoteStream(SpeechStream):
    """Proxy to a worker-side AvatarStream for one client."""

    def __init__(self, redis, queue, sid: str, avatar_id: str, sample_rate: int, mime: str, *,  # type: ignore[no-untyped-def]
                 on_first_segment: Callable[[int, float], Awaitable[None]]) -> None:
        self.redis, self.queue, self.sid = redis, queue, sid
        self.avatar_id, self.sample_rate, self._mime = avatar_id, sample_rate, mime
        self.on_first_segment = on_first_segment
        self._clips = itertools.count(1)
        self._pending: dict[int, tuple[int, asyncio.Future[None]]] = {}
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()  # commands, sent in order by run()

    @property
    def mime(self) -> str:
        return self._mime

    @property
    def media_time(self) -> float:
        return 0.0  # known to the worker only

    async def start(self) -> None:
        await self.redis.delete(command_key(self.sid), notice_key(self.sid))
        await self.queue.enqueue_job(JOB, self.sid, self.avatar_id, self.sample_rate, _job_id=f"stream:{self.sid}")

    def speak(self, chunk: AudioChunk, turn: int) -> asyncio.Future[None]:
        clip = next(self._clips)
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[clip] = (turn, sent)
        self._outbox.put_nowait(Message(SPEAK, turn, clip, pack_audio_chunk(chunk)))
        return sent

    def think(self, on: bool) -> None:
        """Nothing to do: the render worker's cores are not the ones recognising and replying (the
        worker's idle video does not show the thinking look: the command protocol has no message for it)."""

    def listen(self, on: bool) -> None:
        """Nothing to do: the worker's idle video does not show the listening look (no command for it)."""

    def interrupt(self, turn: int) -> None:
        for clip, (clip_turn, sent) in list(self._pending.items()):
            if clip_turn <= turn:
                self._pending.pop(clip)
                if not sent.done():
                    sent.set_result(None)
        self._outbox.put_nowait(Message(INTERRUPT, turn))

    async def _send(self, msg: Message) -> None:
        await self.redis.rpush(command_key(self.sid), msg.pack())

    async def _drain_outbox(self) -> None:
        while True:
            await self._send(await self._outbox.get())

    async def run(self) -> None:
        """Send commands in order; turn the worker's notices into resolved futures and timing reports."""
        sender = asyncio.create_task(self._drain_outbox())
        try:
            while True:
                item = await self.redis.blpop(notice_key(self.sid), timeout=1)
                if item is None:
                    continue
                msg = Message.unpack(item[1])
                if msg.kind == CLIP_SENT and msg.clip in self._pending:
                    _, sent = self._pending.pop(msg.clip)
                    if not sent.done():
                        sent.set_result(None)
                elif msg.kind == FIRST_SEGMENT:
                    await self.on_first_segment(msg.turn, float(msg.payload.decode() or 0))
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await asyncio.shield(self._send(Message(STOP)))
