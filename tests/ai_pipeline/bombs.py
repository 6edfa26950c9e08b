"""Small files that decode to a lot: FLAC at the highest rate FLAC can state, 1-bit and 16-bit PNGs."""

from __future__ import annotations

import io
import struct
import zlib

import av
import numpy as np

FLAC_MAX_RATE = 655_350  # the frame header states rates in 10 Hz steps up to this


def high_rate_flac(seconds: float, container: str = "flac", rate: int = FLAC_MAX_RATE, amplitude: int = 0) -> bytes:
    """``seconds`` of a 1 kHz tone (silence by default: about 2 KB a second) as FLAC at ``rate``
    in a FLAC or Ogg container."""
    out = io.BytesIO()
    block = 65_536
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream("flac", rate=rate, layout="mono")
        total = int(seconds * rate)
        tone = (np.sin(2 * np.pi * 1000 * np.arange(block) / rate) * amplitude).astype(np.int16)
        for at in range(0, total, block):
            frame = av.AudioFrame.from_ndarray(tone[None, : min(block, total - at)], format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, at
            for packet in stream.encode(frame):
                muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
    return out.getvalue()


def png(width: int, height: int, bit_depth: int, color_type: int) -> bytes:
    """A valid all-zero PNG (gray: color_type 0, RGB: 2) whose pixels compress to almost nothing."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    channels = {0: 1, 2: 3}[color_type]
    row = 1 + (width * channels * bit_depth + 7) // 8
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(b"\0" * row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
