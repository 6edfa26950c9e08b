"""The encode stage interface: FrameBatches in, VideoSegments out.

An encoder implements two blocking steps, :meth:`SegmentEncoder._push` (one batch) and
:meth:`SegmentEncoder._flush` (end of stream), each returning the segments that became complete.
The base class serialises calls with a lock, so :meth:`close` called from a cancelled stream waits
for a batch still being encoded in a worker thread instead of freeing the codecs under it.
:func:`encode_stream` drives any encoder from an async iterator without blocking the event loop.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from ai_pipeline import workers
from ai_pipeline.chunks import FrameBatch, VideoSegment


class SegmentEncoder(ABC):
    """Base class for the MP4 writers; all methods are blocking and thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False

    @property
    @abstractmethod
    def mime(self) -> str:
        """MIME type with RFC 6381 codecs, e.g. ``video/mp4; codecs="avc1.42C01E, mp4a.40.2"``."""

    def push(self, batch: FrameBatch) -> list[VideoSegment]:
        """Encode one batch; return the segments it completed (possibly none)."""
        with self._lock:
            self._check_open()
            return self._push(batch)

    def flush(self) -> list[VideoSegment]:
        """Finish the stream; return the remaining segments. The encoder is closed afterwards."""
        with self._lock:
            self._check_open()
            try:
                return self._flush()
            finally:
                self._closed = True
                self._release()

    def close(self) -> None:
        """Drop everything not yet returned and free the codecs (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._release()

    def __enter__(self) -> SegmentEncoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("encoder is closed")

    @abstractmethod
    def _push(self, batch: FrameBatch) -> list[VideoSegment]: ...

    @abstractmethod
    def _flush(self) -> list[VideoSegment]: ...

    @abstractmethod
    def _release(self) -> None: ...


async def encode_stream(
    batches: AsyncIterator[FrameBatch], encoder: SegmentEncoder
) -> AsyncIterator[VideoSegment]:
    """Encode ``batches`` with ``encoder`` in a worker thread, yielding segments as they complete.

    When the consumer stops early (barge-in) or a batch source fails, the encoder is closed and
    the unfinished output is dropped.
    """
    try:
        async for batch in batches:
            for segment in await workers.run("render", encoder.push, batch):
                yield segment
        for segment in await workers.run("render", encoder.flush):
            yield segment
    finally:
        await workers.run("render", encoder.close)
