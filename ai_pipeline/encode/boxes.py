"""Just enough ISO-BMFF (MP4 box) code to stream fragmented MP4.

FFmpeg's mp4 muxer writes the init segment (``ftyp`` + ``moov`` with ``avcC``/``esds``); this module
reads the track ids and timescales from it, adds the audio edit list that hides the AAC encoder's
priming samples, and writes one ``moof`` + ``mdat`` pair per media segment. Writing the fragments
here, rather than through the muxer, lets a segment be emitted the moment its batch is encoded:
the muxer only cuts a fragment when the *next* keyframe arrives and PyAV cannot ask it to flush.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Sample flags (ISO/IEC 14496-12, 8.8.3.1): a sync sample depends on nothing; any other video
# sample depends on earlier ones and is not a sync sample.
SYNC_SAMPLE_FLAGS = 0x02000000
NON_SYNC_SAMPLE_FLAGS = 0x01010000

_TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
_TRUN_DATA_OFFSET = 0x000001
_TRUN_DURATION = 0x000100
_TRUN_SIZE = 0x000200
_TRUN_FLAGS = 0x000400
_TRUN_CTS_OFFSET = 0x000800


def box(kind: bytes, *payload: bytes) -> bytes:
    """Serialise one box: 32-bit size, four-character type, payload."""
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """Serialise a "full box" (a box whose payload starts with version and 24-bit flags)."""
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, box_start, box_end)`` for each box in ``data[start:end]`` (one level)."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"corrupt MP4 box {kind!r} at offset {pos}")
        yield kind, pos, pos + size
        pos += size


def _find(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int]:
    """Bounds of the first box of type ``kind`` among the boxes in ``data[start:end]``."""
    for found, box_start, box_end in iter_boxes(data, start, end):
        if found == kind:
            return box_start, box_end
    raise ValueError(f"MP4 box {kind!r} not found")


def _child(data: bytes, parent_start: int, parent_end: int, kind: bytes) -> tuple[int, int]:
    """Bounds of the first child box ``kind`` of the (plain, 8-byte header) box at ``parent_start``."""
    return _find(data, parent_start + 8, parent_end, kind)


def _track_id(data: bytes, trak_start: int, trak_end: int) -> int:
    tkhd, _ = _child(data, trak_start, trak_end, b"tkhd")
    id_offset = 20 if data[tkhd + 8] == 0 else 28
    return struct.unpack_from(">I", data, tkhd + id_offset)[0]


@dataclass(frozen=True)
class TrackInfo:
    """One track of an init segment."""

    track_id: int
    timescale: int
    handler: str  # "vide" or "soun"


def parse_tracks(init: bytes) -> list[TrackInfo]:
    """Read track id, media timescale and handler type of every ``trak`` in an init segment."""
    moov_start, moov_end = _find(init, 0, len(init), b"moov")
    tracks = []
    for kind, start, end in iter_boxes(init, moov_start + 8, moov_end):
        if kind != b"trak":
            continue
        mdia_start, mdia_end = _child(init, start, end, b"mdia")
        mdhd, _ = _child(init, mdia_start, mdia_end, b"mdhd")
        scale_offset = 20 if init[mdhd + 8] == 0 else 28
        (timescale,) = struct.unpack_from(">I", init, mdhd + scale_offset)
        hdlr, _ = _child(init, mdia_start, mdia_end, b"hdlr")
        handler = init[hdlr + 16 : hdlr + 20].decode("ascii")
        tracks.append(TrackInfo(_track_id(init, start, end), timescale, handler))
    return tracks


def add_edit_list(init: bytes, track_id: int, media_time: int) -> bytes:
    """Return ``init`` with an edit list that starts ``track_id`` at ``media_time`` (its timescale).

    The single edit has ``segment_duration`` 0, which in a fragmented file means "to the end of all
    fragments"; players then present the track from ``media_time`` on, dropping what comes before
    (the AAC priming samples). Assumes 32-bit box sizes, which is what FFmpeg writes for a header.
    """
    moov_start, moov_end = _find(init, 0, len(init), b"moov")
    for kind, start, end in iter_boxes(init, moov_start + 8, moov_end):
        if kind != b"trak" or _track_id(init, start, end) != track_id:
            continue
        _, tkhd_end = _child(init, start, end, b"tkhd")
        if any(child == b"edts" for child, _, _ in iter_boxes(init, start + 8, end)):
            raise ValueError("track already has an edit list")
        elst = full_box(b"elst", 0, 0, struct.pack(">IIiHH", 1, 0, media_time, 1, 0))
        edts = box(b"edts", elst)
        trak = box(b"trak", init[start + 8 : tkhd_end], edts, init[tkhd_end:end])
        moov = box(b"moov", init[moov_start + 8 : start], trak, init[end:moov_end])
        return init[:moov_start] + moov + init[moov_end:]
    raise ValueError(f"track {track_id} not found")


@dataclass(frozen=True)
class Sample:
    """One encoded access unit placed in a fragment (times in the track's timescale)."""

    data: bytes
    duration: int
    flags: int = SYNC_SAMPLE_FLAGS
    cts_offset: int = 0


@dataclass(frozen=True)
class TrackRun:
    """Consecutive samples of one track, starting at ``decode_time``."""

    track_id: int
    decode_time: int
    samples: Sequence[Sample]


def media_segment(sequence_number: int, runs: Sequence[TrackRun]) -> bytes:
    """Build ``moof`` + ``mdat`` for ``runs`` (empty runs are skipped); data offsets are moof-relative."""
    runs = [run for run in runs if run.samples]
    if not runs:
        raise ValueError("a media segment needs at least one sample")
    # Every trun's data_offset depends on the moof size, which does not depend on the offsets'
    # values: build once with zeros to measure, then again with the real offsets.
    moof = _moof(sequence_number, runs, [0] * len(runs))
    offsets, position = [], len(moof) + 8
    for run in runs:
        offsets.append(position)
        position += sum(len(sample.data) for sample in run.samples)
    moof = _moof(sequence_number, runs, offsets)
    mdat = box(b"mdat", *(sample.data for run in runs for sample in run.samples))
    return moof + mdat


def _moof(sequence_number: int, runs: Sequence[TrackRun], offsets: Sequence[int]) -> bytes:
    trafs = [_traf(run, offset) for run, offset in zip(runs, offsets)]
    return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence_number)), *trafs)


def _traf(run: TrackRun, data_offset: int) -> bytes:
    with_cts = any(sample.cts_offset for sample in run.samples)
    flags = _TRUN_DATA_OFFSET | _TRUN_DURATION | _TRUN_SIZE | _TRUN_FLAGS
    if with_cts:
        flags |= _TRUN_CTS_OFFSET  # version 1: signed offsets
    entries = []
    for sample in run.samples:
        entries.append(struct.pack(">III", sample.duration, len(sample.data), sample.flags))
        if with_cts:
            entries.append(struct.pack(">i", sample.cts_offset))
    header = struct.pack(">Ii", len(run.samples), data_offset)
    trun = full_box(b"trun", 1 if with_cts else 0, flags, header, *entries)
    tfhd = full_box(b"tfhd", 0, _TFHD_DEFAULT_BASE_IS_MOOF, struct.pack(">I", run.track_id))
    tfdt = full_box(b"tfdt", 1, 0, struct.pack(">Q", run.decode_time))
    return box(b"traf", tfhd, tfdt, trun)
