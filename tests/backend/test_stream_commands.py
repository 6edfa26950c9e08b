"""Queue mode's two halves over a real redis-server: a RemoteStream on the server side, the shared
command loop (``serve_commands``) driving a stream on the worker side. Both sides speak SpeechStream."""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import redis.asyncio as aioredis

from ai_pipeline.chunks import AudioChunk, PhonemeMark
from ai_pipeline.streaming import AvatarStream, SpeechStream
from backend.realtime.commands import command_key, first_segment_notice, notice_key, serve_commands
from backend.realtime.remote_stream import RemoteStream
from tests.redis_server import redis_url  # noqa: F401


class FakeStream(SpeechStream):
    """A worker-side stream that only records what the command loop asked of it."""

    mime = 'video/mp4; codecs="test"'
    media_time = 0.0

    def __init__(self) -> None:
        self.spoken: list[tuple[AudioChunk, int, asyncio.Future[None]]] = []
        self.interrupted: list[int] = []
        self.closed = False

    def speak(self, chunk: AudioChunk, turn: int) -> asyncio.Future[None]:
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.spoken.append((chunk, turn, sent))
        return sent

    def interrupt(self, turn: int) -> None:
        self.interrupted.append(turn)

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            self.closed = True


async def _until(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def test_both_streams_declare_the_protocol():
    assert SpeechStream in AvatarStream.__mro__ and SpeechStream in RemoteStream.__mro__  # declared, not by chance
    remote = RemoteStream(None, None, "sid", "a" * 16, 16000, "video/mp4", on_first_segment=None)  # type: ignore[arg-type]
    assert isinstance(remote, SpeechStream) and remote.mime == "video/mp4" and remote.media_time == 0.0


def test_remote_stream_drives_a_worker_stream_through_the_command_loop(redis_url):  # noqa: F811
    sid = f"test-{uuid.uuid4().hex}"

    async def go() -> None:
        redis = aioredis.Redis.from_url(redis_url)
        firsts: list[tuple[int, float]] = []

        async def on_first(turn: int, queued_s: float) -> None:
            firsts.append((turn, queued_s))

        remote = RemoteStream(redis, None, sid, "a" * 16, 16000, "video/mp4", on_first_segment=on_first)
        worker = FakeStream()
        serving = asyncio.create_task(serve_commands(worker, redis, sid))
        running = asyncio.create_task(remote.run())
        try:
            chunk = AudioChunk((0.5 * np.sin(np.linspace(0, 60, 1600))).astype(np.float32), 16000, "да",
                               (PhonemeMark("d", 0.0, 0.05), PhonemeMark("a", 0.05, 0.1)), 2)
            sent = remote.speak(chunk, 3)
            await _until(lambda: worker.spoken)
            got, turn, worker_sent = worker.spoken[0]
            assert turn == 3 and (got.text, got.phonemes, got.index) == ("да", chunk.phonemes, 2)
            np.testing.assert_allclose(got.samples, chunk.samples, atol=1 / 32767)
            await asyncio.sleep(0.1)
            assert not sent.done(), "a clip is out only when the worker's stream says so"
            worker_sent.set_result(None)
            await asyncio.wait_for(sent, 5)

            await redis.rpush(notice_key(sid), first_segment_notice(3, 0.25).pack())
            await _until(lambda: firsts)
            assert firsts == [(3, 0.25)]

            later = remote.speak(chunk, 4)
            await _until(lambda: len(worker.spoken) == 2)
            remote.interrupt(4)
            assert later.done(), "an interrupted clip resolves on the server at once"
            await _until(lambda: worker.interrupted)
            assert worker.interrupted == [4]
        finally:
            running.cancel()  # sends STOP: the worker's loop ends and closes its stream
            await asyncio.gather(running, return_exceptions=True)
            await asyncio.wait_for(serving, 5)
            assert worker.closed
            assert not await redis.exists(command_key(sid))
            await redis.delete(notice_key(sid))
            await redis.aclose()

    asyncio.run(go())
