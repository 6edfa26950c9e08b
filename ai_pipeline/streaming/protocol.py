"""The interface of a client's avatar video stream, wherever its frames are made.

A conversation queues speech on its stream and drops it on barge-in; the stream sends the video on
its own. :class:`SpeechStream` is what the live session types against. Two classes implement it:
:class:`~ai_pipeline.streaming.avatar_stream.AvatarStream` renders in this process, and the server's
proxy to a render worker (``RemoteStream`` in ``backend.realtime.remote_stream``) forwards every call
to the worker's own AvatarStream.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

from ai_pipeline.chunks import AudioChunk


@runtime_checkable
class SpeechStream(Protocol):
    """One client's avatar video: speech in on cue, segments out until :meth:`run` is cancelled."""

    @property
    def mime(self) -> str:
        """The MediaSource type of the segments (RFC 6381 codecs)."""
        ...

    @property
    def media_time(self) -> float:
        """Seconds of video sent so far (0.0 where only a worker knows)."""
        ...

    def speak(self, chunk: AudioChunk, turn: int) -> asyncio.Future[None]:
        """Queue a clip of ``turn``; the future resolves once its last segment is sent, or it was dropped."""
        ...

    def interrupt(self, turn: int) -> None:
        """Drop every queued clip of ``turn`` and earlier (and stop the one being rendered)."""
        ...

    def think(self, on: bool) -> None:
        """The user waits for a reply (``on``) or not: the face may look thoughtful, and the stream may
        spend less on idle video meanwhile."""
        ...

    def listen(self, on: bool) -> None:
        """The user is speaking (``on``) or stopped: the face may look attentive meanwhile."""
        ...

    async def run(self) -> None:
        """Make and send the video; runs until cancelled, which is how a stream is closed."""
        ...
