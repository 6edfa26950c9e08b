"""Test doubles around the one streamer (:class:`ai_pipeline.streaming.AvatarStream`).

:class:`RecordingEncoder` is an injected encoder that keeps the batches it is given (no video);
:func:`streamed_batches` runs a render-mode stream over some clips and returns what reached it, i.e.
the frames exactly as a real encoder would have received them (rendered, enhanced).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ai_pipeline.chunks import AudioChunk, FrameBatch, VideoSegment
from ai_pipeline.encode.base import SegmentEncoder
from ai_pipeline.streaming import AvatarStream, Emitted, Enhance
from ai_pipeline.talking_head.base import Avatar, TalkingHeadEngine
from ai_pipeline.timing import StageTimer


class RecordingEncoder(SegmentEncoder):
    """Keeps every pushed batch; makes no segments."""

    mime = "video/x-test"

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[FrameBatch] = []
        self.flushed = False

    def _push(self, batch: FrameBatch) -> list[VideoSegment]:
        self.batches.append(batch)
        return []

    def _flush(self) -> list[VideoSegment]:
        self.flushed = True
        return []

    def _release(self) -> None:
        pass


async def ignore(_item: Emitted) -> None:
    return None


async def streamed_batches(head: TalkingHeadEngine, avatar: Avatar, clips: Sequence[AudioChunk], *,
                           enhance: Enhance | None = None, timer: StageTimer | None = None) -> list[FrameBatch]:
    """The batches a render of ``clips`` (one after another) hands to its encoder."""
    encoder = RecordingEncoder()

    async def source() -> AsyncIterator[AudioChunk]:
        for clip in clips:
            yield clip

    stream = AvatarStream(head, avatar, sample_rate=clips[0].sample_rate, encoder=encoder, sink=ignore,
                          enhance=enhance, timer=timer)
    await stream.play(source())
    assert encoder.flushed
    return encoder.batches
