"""One streamer for every avatar video: a render and a live stream hand the same rendered batches to
the one enhancement hook (each batch once), and a live stream's idle video is the engine's ``idle()``."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from ai_pipeline.chunks import AudioChunk, FrameBatch
from ai_pipeline.enhance.base import EnhanceEngine
from ai_pipeline.enhance.region import FaceRegion
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import RealtimeSettings, Settings
from ai_pipeline.streaming import AvatarStream, Emitted, SpeechStream
from ai_pipeline.talking_head.mesh_warp import MeshWarpEngine
from tests.support import decode_mp4


class RecordingEnhancer(EnhanceEngine):
    """Inverts the face crop (plainly visible) and keeps every batch it was asked to enhance."""

    name = "recording"

    def __init__(self) -> None:
        super().__init__(None)
        self.seen: list[FrameBatch] = []

    def restore(self, crop: np.ndarray) -> np.ndarray:
        return 255 - crop

    def enhance_batch(self, batch: FrameBatch, region: FaceRegion) -> FrameBatch:
        self.seen.append(batch)
        return super().enhance_batch(batch, region)


class SpyHead(MeshWarpEngine):
    """The real light engine, keeping the batches its ``idle()`` made."""

    def __init__(self) -> None:
        super().__init__()
        self.idle_batches: list[FrameBatch] = []

    def idle(self, avatar, seconds, sample_rate, first_frame=0):  # type: ignore[no-untyped-def]
        for batch in super().idle(avatar, seconds, sample_rate, first_frame):
            self.idle_batches.append(batch)
            yield batch


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    # never degraded (a still frame is not rendered, so not enhanced), however loaded the test machine
    p = Pipeline(Settings(data_dir=tmp_path_factory.mktemp("data"), realtime=RealtimeSettings(behind_s=1000)))
    p.head = SpyHead()
    p.head.load()
    p.enhancer = RecordingEnhancer()
    yield p
    p.close()


@pytest.fixture(scope="module")
def avatar(pipeline, photo_bytes):
    return pipeline.avatar(photo_bytes)


SPEECH = AudioChunk((0.3 * np.sin(np.linspace(0, 3000, 16000))).astype(np.float32), 16000)  # 1 s


async def _live(pipeline: Pipeline, avatar, idle_batches: int):  # type: ignore[no-untyped-def]
    sent: list[Emitted] = []

    async def sink(item: Emitted) -> None:
        sent.append(item)

    stream = pipeline.live_stream(avatar, sink, sample_rate=SPEECH.sample_rate)
    assert isinstance(stream, SpeechStream) and stream.live
    spoken = stream.speak(SPEECH, 1)  # queued before the stream runs: speech from frame 0
    task = asyncio.create_task(stream.run())
    await asyncio.wait_for(spoken, 30)
    # idle follows once playback nears the end of the speech (its lead ahead of playback): wait for it
    async with asyncio.timeout(30):
        while sum(item.kind == "idle" for item in sent) < idle_batches:
            await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return stream, sent


def test_render_and_live_stream_enhance_the_same_batches_in_one_place(pipeline, avatar):
    enhancer, head = pipeline.enhancer, pipeline.head
    enhancer.seen.clear()
    result = asyncio.run(pipeline.render(avatar, audio=SPEECH))
    rendered = list(enhancer.seen)
    assert sum(len(b.frames) for b in rendered) == result.frames == 25, "each batch enhanced once"
    assert "enhance_s" in result.timings
    decoded = np.stack(decode_mp4(result.mp4).frames).astype(int)
    plain = np.concatenate([b.frames for b in head.render(avatar, SPEECH)])
    enhanced = enhancer.enhance(plain, pipeline.face_region(avatar))  # (not recorded: not a batch)
    assert np.abs(decoded - enhanced).mean() < np.abs(decoded - plain).mean() / 4, "the file is enhanced"

    enhancer.seen.clear()
    head.idle_batches.clear()
    stream, sent = asyncio.run(_live(pipeline, avatar, idle_batches=2))
    live = list(enhancer.seen)
    speech, idle = live[:len(rendered)], live[len(rendered):]
    for a, b in zip(rendered, speech, strict=True):
        assert a.first_frame == b.first_frame
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.audio, b.audio)
    assert [item.kind for item in sent][:2] == ["init", "speech"]
    assert idle and any(item.kind == "idle" for item in sent), "idle video after the speech"
    # the idle video is what the engine's idle() made, frame for frame
    made = {id(b) for b in head.idle_batches}
    assert all(id(b) in made for b in idle)
    assert idle[0].first_frame == 25 and stream.frame >= 25 + sum(len(b.frames) for b in idle[:-1])


def test_no_other_enhancement_entry_point():
    assert not hasattr(EnhanceEngine, "stream"), "frames reach the enhancer only through Pipeline.enhancer_for"
    assert not hasattr(Pipeline, "enhance_batch") and not hasattr(Pipeline, "frames_for_text")
    assert not hasattr(MeshWarpEngine, "stream"), "the streamer drives the engines"


def test_a_render_waits_for_speech_and_ends_with_the_file(pipeline, avatar):
    """A render has no idle video: nothing is rendered until speech comes; end() flushes and returns."""
    from tests.streams import RecordingEncoder, ignore

    async def go():
        encoder = RecordingEncoder()
        stream = AvatarStream(pipeline.head, avatar, sample_rate=16000, encoder=encoder, sink=ignore)
        task = asyncio.create_task(stream.run())
        await asyncio.sleep(0.3)
        assert not encoder.batches and stream.frame == 0
        stream.speak(SPEECH, 0)
        stream.end()
        await asyncio.wait_for(task, 30)
        return stream, encoder

    stream, encoder = asyncio.run(go())
    assert encoder.flushed and encoder._closed
    assert stream.frame == 25 and [b.first_frame for b in encoder.batches][0] == 0
