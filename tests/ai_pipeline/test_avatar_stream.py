"""The avatar stream on a machine too slow for real time: it degrades instead of drifting, and a
cancelled stream closes its encoder only after the render pool's last call for it."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from ai_pipeline.assets import default_photo_path
from ai_pipeline.chunks import AudioChunk
from ai_pipeline.settings import EncoderSettings, RealtimeSettings
from ai_pipeline.streaming import AvatarStream, live_encoder
from ai_pipeline.talking_head.mesh_warp import MeshWarpEngine, MeshWarpSettings


class SlowHead(MeshWarpEngine):
    """The real light engine on a machine ``slowdown`` x slower (each batch takes longer to make)."""

    slowdown_s = 0.0

    def render(self, avatar, audio, first_frame=0):  # type: ignore[no-untyped-def]
        for batch in super().render(avatar, audio, first_frame):
            time.sleep(self.slowdown_s * len(batch.frames))
            yield batch


@pytest.fixture(scope="module")
def head_and_avatar(tmp_path_factory):
    head = SlowHead(MeshWarpSettings())
    head.load()
    avatar = head.prepare(default_photo_path(tmp_path_factory.mktemp("a")).read_bytes(),
                          cache_dir=tmp_path_factory.mktemp("avatars"))
    return head, avatar


async def _run(head, avatar, seconds: float, speech: AudioChunk | None = None):  # type: ignore[no-untyped-def]
    sent = []

    async def sink(item) -> None:  # type: ignore[no-untyped-def]
        sent.append((time.monotonic(), item))

    stream = AvatarStream(head, avatar, sample_rate=16000, encoder=live_encoder(EncoderSettings(), head, 16000),
                          sink=sink, realtime=RealtimeSettings(behind_s=0.3))
    task = asyncio.create_task(stream.run())
    if speech is not None:
        stream.speak(speech, 1)
    lags, degraded = [], []
    for _ in range(int(seconds / 0.1)):
        await asyncio.sleep(0.1)
        lags.append(stream.behind_s)
        degraded.append(stream.degraded)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return stream, sent, lags, degraded


def test_a_stream_that_keeps_up_is_not_degraded(head_and_avatar):
    head, avatar = head_and_avatar
    head.slowdown_s = 0.0
    stream, sent, lags, degraded = asyncio.run(_run(head, avatar, 3.0))
    assert not any(degraded) and max(lags) < 0.3
    assert stream.media_time >= 2.5, "idle video runs with the clock"


def test_a_slow_machine_degrades_idle_video_and_catches_up(head_and_avatar):
    head, avatar = head_and_avatar
    head.slowdown_s = 2.0 / head.fps  # each frame takes 2 frame periods: half real time
    speech = AudioChunk(np.sin(np.linspace(0, 2000, 16000 * 2)).astype(np.float32) * 0.3, 16000)
    stream, sent, lags, degraded = asyncio.run(_run(head, avatar, 9.0, speech))
    assert any(degraded), "falling behind is noticed"
    assert max(lags) >= 1.0, "2 s of speech at half speed puts the stream well behind"
    kinds = [item.kind for _, item in sent]
    assert "speech" in kinds, "speech is still rendered in full"
    # after the speech, idle video is a still frame (cheap), so the stream catches up with the clock
    assert stream.behind_s < 0.3, f"caught up again, lag now {stream.behind_s:.2f} s (peak {max(lags):.2f} s)"
    caught_up = lags.index(max(lags)) + next(i for i, lag in enumerate(lags[lags.index(max(lags)):]) if lag < 0.3)
    assert (caught_up - lags.index(max(lags))) * 0.1 < 1.5, "catching up takes a fraction of the lag"


def test_cancelled_stream_closes_its_encoder_after_the_last_render(head_and_avatar):
    head, avatar = head_and_avatar
    head.slowdown_s = 0.5 / head.fps

    async def go():
        stream = AvatarStream(head, avatar, sample_rate=16000, encoder=live_encoder(EncoderSettings(), head, 16000),
                              sink=_ignore, realtime=RealtimeSettings())
        task = asyncio.create_task(stream.run())
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        inflight = set(stream._inflight)
        await asyncio.sleep(1.0)
        return stream, inflight

    stream, inflight = asyncio.run(go())
    assert all(call.done() for call in inflight)
    assert stream._encoder._closed, "the encoder is closed once its pool call is done"


async def _ignore(_item) -> None:  # type: ignore[no-untyped-def]
    return None


class CountingHead(MeshWarpEngine):
    """The real light engine, counting the frames it draws."""

    drawn = 0

    def render(self, avatar, audio, first_frame=0):  # type: ignore[no-untyped-def]
        for batch in super().render(avatar, audio, first_frame):
            self.drawn += len(batch.frames)
            yield batch


def test_thinking_draws_idle_video_at_half_rate(tmp_path):
    """While a reply is being made the idle video keeps its 25 fps timeline but draws every other frame."""
    head = CountingHead(MeshWarpSettings())
    head.load()
    avatar = head.prepare(default_photo_path(tmp_path).read_bytes(), cache_dir=tmp_path / "avatars")

    async def go(think: bool) -> tuple[int, int, AvatarStream]:
        stream = AvatarStream(head, avatar, sample_rate=16000, encoder=live_encoder(EncoderSettings(), head, 16000),
                              sink=_ignore, realtime=RealtimeSettings())
        stream.think(think)
        head.drawn = 0
        task = asyncio.create_task(stream.run())
        await asyncio.sleep(2.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return head.drawn, stream.frame, stream

    drawn, frames, stream = asyncio.run(go(True))
    assert frames >= 2.0 * head.fps * 0.8, "the timeline stays real time"
    assert abs(drawn - frames / 2) <= 2, (drawn, frames)
    last = stream._last
    even = last.first_frame % 2  # the position of an even frame: the odd one after it repeats it
    assert np.array_equal(last.frames[even], last.frames[even + 1])
    drawn, frames, _ = asyncio.run(go(False))
    assert abs(drawn - frames) <= 3, (drawn, frames)
