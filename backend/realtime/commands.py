"""Between a server and the render worker that owns a client's avatar stream: the wire format and the
worker's command loop.

They talk over two Redis lists per client: commands to the worker, notices back. A message
(:class:`Message`) is one byte of kind, a 4-byte turn, an 8-byte clip id and a payload: for ``SPEAK``
a packed AudioChunk (:func:`pack_audio_chunk`, also what the clip cache stores), for
``FIRST_SEGMENT`` the seconds of video queued before it. The server side is
``backend.realtime.remote_stream.RemoteStream``; the worker side is :func:`serve_commands`, which
drives any :class:`~ai_pipeline.streaming.SpeechStream` from the commands.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_pipeline.chunks import AudioChunk, PhonemeMark
from ai_pipeline.streaming import SpeechStream

log = logging.getLogger(__name__)
SPEAK, INTERRUPT, STOP = b"S", b"I", b"Q"
CLIP_SENT, FIRST_SEGMENT = b"D", b"F"
_HEAD = struct.Struct("<cIQ")


def command_key(sid: str) -> str:
    return f"avatar:stream:{sid}:cmd"


def notice_key(sid: str) -> str:
    return f"avatar:stream:{sid}:notice"


@dataclass(frozen=True)
class Message:
    kind: bytes
    turn: int = 0
    clip: int = 0
    payload: bytes = b""

    def pack(self) -> bytes:
        return _HEAD.pack(self.kind, self.turn, self.clip) + self.payload

    @classmethod
    def unpack(cls, data: bytes) -> Message:
        kind, turn, clip = _HEAD.unpack_from(data)
        return cls(kind, turn, clip, data[_HEAD.size:])


def first_segment_notice(turn: int, queued_s: float) -> Message:
    """The worker's word that ``turn``'s first speech segment left, with the video queued before it."""
    return Message(FIRST_SEGMENT, turn, 0, f"{queued_s:.3f}".encode())


async def serve_commands(stream: SpeechStream, redis: Any, sid: str) -> None:
    """Run ``stream`` for client ``sid`` as its RemoteStream commands (until ``STOP``, or the stream ends).

    ``SPEAK`` queues a clip (its ``CLIP_SENT`` notice goes back once it is out or dropped), ``INTERRUPT``
    drops a turn. The stream is cancelled (closed) on the way out and the command list deleted.
    """
    running = asyncio.create_task(stream.run())
    sent_clips: asyncio.Queue[int] = asyncio.Queue()

    async def report_sent() -> None:
        while True:
            clip = await sent_clips.get()
            await redis.rpush(notice_key(sid), Message(CLIP_SENT, 0, clip).pack())

    reporter = asyncio.create_task(report_sent())
    try:
        while not running.done():
            item = await redis.blpop(command_key(sid), timeout=1)
            if item is None:
                continue
            msg = Message.unpack(item[1])
            if msg.kind == STOP:
                break
            if msg.kind == INTERRUPT:
                stream.interrupt(msg.turn)
            elif msg.kind == SPEAK:
                sent = stream.speak(unpack_audio_chunk(msg.payload), msg.turn)
                sent.add_done_callback(lambda _, clip=msg.clip: sent_clips.put_nowait(clip))
    finally:
        running.cancel()
        reporter.cancel()
        ended, _ = await asyncio.gather(running, reporter, return_exceptions=True)
        if isinstance(ended, Exception):
            log.error("avatar stream of %s failed: %r", sid, ended)
        await redis.delete(command_key(sid))


# --- AudioChunk <-> bytes ------------------------------------------------------------------------

_MAGIC = b"AVC1"
_HEADER_LEN = struct.Struct("<I")


def pack_audio_chunk(chunk: AudioChunk) -> bytes:
    """Compact bytes for an AudioChunk: ``AVC1``, a 4-byte header length, a JSON header (rate, text,
    index, emotion, phonemes exactly) and the samples as 16-bit PCM."""
    pcm = (np.clip(np.nan_to_num(np.asarray(chunk.samples, dtype=np.float32)), -1.0, 1.0) * 32767.0)
    pcm = pcm.round().astype("<i2")
    header = json.dumps({"rate": chunk.sample_rate, "text": chunk.text, "index": chunk.index, "samples": len(pcm),
                         "emotion": chunk.emotion, "emotion_confidence": chunk.emotion_confidence,
                         "phonemes": [[p.phoneme, p.start, p.end] for p in chunk.phonemes]},
                        ensure_ascii=False, separators=(",", ":")).encode()
    return _MAGIC + _HEADER_LEN.pack(len(header)) + header + pcm.tobytes()


def unpack_audio_chunk(data: bytes) -> AudioChunk:
    """The AudioChunk packed by :func:`pack_audio_chunk`; ValueError if ``data`` is not one."""
    start = len(_MAGIC) + _HEADER_LEN.size
    if len(data) < start or data[: len(_MAGIC)] != _MAGIC:
        raise ValueError("not a packed audio chunk")
    (header_len,) = _HEADER_LEN.unpack_from(data, len(_MAGIC))
    try:
        header = json.loads(data[start : start + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"damaged audio chunk header: {exc}") from exc
    pcm = data[start + header_len :]
    if len(pcm) != 2 * header["samples"]:
        raise ValueError(f"audio chunk holds {len(pcm)} bytes of PCM, expected {2 * header['samples']}")
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / np.float32(32767.0)
    phonemes = tuple(PhonemeMark(str(p), float(s), float(e)) for p, s, e in header["phonemes"])
    return AudioChunk(samples, int(header["rate"]), header["text"], phonemes, int(header["index"]),
                      str(header.get("emotion", "neutral")), float(header.get("emotion_confidence", 1.0)))
