"""Incremental decoding of a live microphone stream to 16 kHz mono float32.

A browser's MediaRecorder sends WebM/Opus or Ogg/Opus in pieces: the first piece carries the
header, later pieces continue the clusters or pages, and nothing states a duration. Raw
little-endian 16-bit PCM (an AudioWorklet) is accepted too.

Containers are decoded by PyAV in one background thread per stream that reads from a pipe-like
file object: FFmpeg's demuxer blocks inside ``read`` until :meth:`StreamDecoder.push` brings more
bytes, so every byte is parsed once (cost linear in the stream, unlike re-demuxing a growing
buffer) and a packet cut in half simply waits for its other half. ``push`` hands the bytes over and
waits until the thread has decoded everything they complete, so it returns every sample that can
be decoded so far. The thread holds no reference to the decoder, so a decoder that is dropped
without :meth:`StreamDecoder.close` still ends it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Literal

import av
import numpy as np

from ai_pipeline.errors import AvatarError, EngineFailed, InputError
from ai_pipeline.media.audio_io import _check_length, _MonoDownmixer

TARGET_RATE = 16_000
StreamFormat = Literal["webm", "ogg", "pcm16"]

# The first bytes every stream of the format starts with (EBML header, Ogg page).
_MAGIC = {"webm": b"\x1a\x45\xdf\xa3", "ogg": b"OggS"}
# A stream that yields no audio after this much data is not what it claims to be. Generous,
# because an Ogg page may hold a second of audio (FFmpeg's muxer) before anything decodes.
_UNDECODABLE_BYTES = 64 * 1024
# How long push() waits for the decoding thread before calling it stuck.
_STALL_TIMEOUT_S = 30.0


class StreamDecoder:
    """Decode a pushed byte stream to 16 kHz mono float32 in [-1, 1], piece by piece.

    ``fmt`` is ``"webm"`` or ``"ogg"`` (any codec FFmpeg decodes, Opus from browsers) or
    ``"pcm16"`` (little-endian int16 mono at ``input_rate``; ignored for containers). With
    ``max_seconds``, decoding more audio than that raises InputTooLarge ``audio_too_long``, and
    decoding more than that many seconds of 96 kHz stereo at the stream's own rate and channel
    count (a FLAC-in-Ogg at 655 kHz) raises ``audio_too_large``.
    Bytes that are clearly not the declared format raise InputError ``bad_audio``. After an error
    the decoder is closed and every later call raises the same error.

    Use as a context manager, or call :meth:`finish` or :meth:`close` when done.
    """

    def __init__(self, fmt: StreamFormat, input_rate: int = TARGET_RATE, max_seconds: float | None = None) -> None:
        if fmt not in ("webm", "ogg", "pcm16"):
            raise ValueError(f"unknown stream format {fmt!r}: expected 'webm', 'ogg' or 'pcm16'")
        if input_rate <= 0:
            raise ValueError(f"input_rate must be positive, got {input_rate}")
        self.fmt = fmt
        self.input_rate = input_rate
        self.max_seconds = max_seconds
        self._feed: _PcmFeed | _ContainerFeed
        if fmt == "pcm16":
            self._feed = _PcmFeed(input_rate, max_seconds)
        else:
            self._feed = _ContainerFeed(fmt, max_seconds)
            weakref.finalize(self, self._feed.close)
        self._finished = False

    @property
    def seconds(self) -> float:
        """Audio decoded so far, in seconds."""
        return self._feed.decoded / TARGET_RATE

    def push(self, data: bytes) -> np.ndarray:
        """Add the next bytes of the stream; return the samples they made decodable (maybe none)."""
        if self._finished:
            raise RuntimeError("push() after finish() or close()")
        return self._feed.push(bytes(data))

    def finish(self) -> np.ndarray:
        """End the stream: decode what is left (a cut-off last packet is dropped) and close."""
        if self._finished:
            raise RuntimeError("finish() called twice or after close()")
        self._finished = True
        return self._feed.finish()

    def close(self) -> None:
        """Stop decoding and drop what is pending; safe to call more than once."""
        self._finished = True
        self._feed.close()

    def __enter__(self) -> StreamDecoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Drain(_MonoDownmixer):
    """A downmixer whose samples are taken away as they are produced."""

    def take(self) -> np.ndarray:
        out = self.samples()
        self._parts.clear()
        return out


class _PcmFeed:
    """Raw int16 little-endian mono; a trailing odd byte waits for its partner."""

    def __init__(self, input_rate: int, max_seconds: float | None) -> None:
        self._rate = input_rate
        self._max_seconds = max_seconds
        self._drain = _Drain(TARGET_RATE, max_seconds=max_seconds)
        self._odd = b""

    @property
    def decoded(self) -> int:
        return self._drain.count

    def push(self, data: bytes) -> np.ndarray:
        data = self._odd + data
        whole = len(data) - len(data) % 2
        self._odd = data[whole:]
        if whole:
            pcm = np.frombuffer(data[:whole], dtype="<i2").reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate = self._rate
            self._drain.add(frame)
            _check_length(self._drain, self._max_seconds)
        return self._drain.take()

    def finish(self) -> np.ndarray:
        self._drain.flush()
        _check_length(self._drain, self._max_seconds)
        return self._drain.take()

    def close(self) -> None:
        self._odd = b""


class _ContainerFeed:
    """WebM or Ogg decoded by PyAV in a thread that reads from a pipe filled by push()."""

    def __init__(self, fmt: str, max_seconds: float | None) -> None:
        self._fmt = fmt
        self._max_seconds = max_seconds
        self._drain = _Drain(TARGET_RATE, max_seconds=max_seconds)
        self._cond = threading.Condition()
        self._pending = bytearray()  # pushed, not yet read by the demuxer
        self._received = 0
        self._eof = False  # no more bytes will come: the demuxer sees end of file
        self._starving = False  # the thread waits in read() with nothing to read
        self._done = False  # the thread has ended
        self._error: AvatarError | None = None
        self._thread: threading.Thread | None = None

    @property
    def decoded(self) -> int:
        return self._drain.count

    # -- caller side ------------------------------------------------------------------------------

    def push(self, data: bytes) -> np.ndarray:
        if self._error is None:
            self._check_magic(data)
        with self._cond:
            self._raise_error()
            self._received += len(data)
            self._pending += data
            self._starving = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"stream-decode-{self._fmt}", daemon=True)
                self._thread.start()
            self._cond.notify_all()
            self._wait_for_thread(lambda: (self._starving and not self._pending) or self._done)
            if self._error is None and self._drain.count == 0 and self._received >= _UNDECODABLE_BYTES:
                self._fail(_bad_audio(f"no audio decoded from the first {self._received} bytes"))
            self._raise_error()
            return self._drain.take()

    def finish(self) -> np.ndarray:
        with self._cond:
            self._raise_error()
            self._eof = True
            self._cond.notify_all()
            if self._thread is not None:
                self._wait_for_thread(lambda: self._done)
            self._raise_error()
            self._drain.flush()
            _check_length(self._drain, self._max_seconds)
            return self._drain.take()

    def close(self) -> None:
        with self._cond:
            self._eof = True
            self._pending.clear()
            self._cond.notify_all()

    def _check_magic(self, data: bytes) -> None:
        magic = _MAGIC[self._fmt]
        seen = self._received
        if seen < len(magic) and data[: len(magic) - seen] != magic[seen : seen + len(data)]:
            with self._cond:
                self._fail(_bad_audio(f"the stream does not start like {self._fmt}"))

    def _wait_for_thread(self, ready: Callable[[], bool]) -> None:
        if not self._cond.wait_for(ready, timeout=_STALL_TIMEOUT_S):
            self._fail(EngineFailed("Не удалось разобрать аудиопоток: декодер завис.",
                                    f"stream decoder did not respond in {_STALL_TIMEOUT_S:g} s"))

    def _fail(self, error: AvatarError) -> None:
        """Record the first error and stop the thread (called with the lock held)."""
        self._error = self._error or error
        self._eof = True
        self._pending.clear()
        self._cond.notify_all()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    # -- decoding thread --------------------------------------------------------------------------

    def read(self, size: int = -1) -> bytes:
        """File-object read for FFmpeg: blocks until bytes arrive; b"" means end of stream."""
        with self._cond:
            while not self._pending and not self._eof:
                self._starving = True
                self._cond.notify_all()
                self._cond.wait()
            self._starving = False
            size = len(self._pending) if size is None or size < 0 else size
            out = bytes(self._pending[:size])
            del self._pending[:size]
            return out

    def _run(self) -> None:
        error: AvatarError | None = None
        try:
            self._decode()
        except AvatarError as exc:
            error = exc
        except (av.FFmpegError, OSError, ValueError) as exc:
            error = _bad_audio(f"cannot decode the {self._fmt} stream: {exc}")
        except Exception as exc:  # keep the caller from waiting on a dead thread
            error = EngineFailed("Не удалось разобрать аудиопоток.", f"stream decoder crashed: {exc!r}")
        with self._cond:
            if error is not None and self._error is None:
                self._error = error
            self._done = True
            self._cond.notify_all()

    def _decode(self) -> None:
        with av.open(self, "r", format=self._fmt) as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                raise InputError("Не удалось прочитать аудио: в потоке нет звуковой дорожки.",
                                 "no audio stream in the stream", code="bad_audio")
            try:
                for packet in container.demux(stream):
                    try:
                        frames = packet.decode()
                    except av.InvalidDataError:
                        continue  # one damaged packet: skip it, as decode_audio does
                    with self._cond:
                        for frame in frames:
                            self._drain.add(frame)
                        _check_length(self._drain, self._max_seconds)
            except av.FFmpegError:
                # At the end of a stream a cut-off last packet is normal; mid-stream it is damage.
                if not (self._eof and self._drain.count):
                    raise


def _bad_audio(detail: str) -> InputError:
    return InputError("Не удалось прочитать аудиопоток: данные повреждены или формат не тот, что заявлен.",
                      detail, code="bad_audio")
