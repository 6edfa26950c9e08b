"""Codec bitstream details an MP4 writer needs: H.264 NAL framing and RFC 6381 codec strings."""

from __future__ import annotations

import struct

_START_CODE = b"\x00\x00\x01"


def _annexb_nal_units(data: bytes) -> list[bytes]:
    """Split an Annex B byte stream (NAL units behind 00 00 01 / 00 00 00 01) into NAL units."""
    starts = []
    position = data.find(_START_CODE)
    while position >= 0:
        starts.append(position + len(_START_CODE))
        position = data.find(_START_CODE, position + len(_START_CODE))
    units = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - len(_START_CODE) if index + 1 < len(starts) else len(data)
        # A NAL unit ends in its rbsp stop bit, so trailing zero bytes belong to the next start
        # code (the 4-byte form) or are trailing_zero_8bits, never to the unit.
        unit = data[start:end].rstrip(b"\x00")
        if unit:
            units.append(unit)
    return units


def annexb_to_length_prefixed(data: bytes) -> bytes:
    """Convert one H.264 access unit from Annex B to the 4-byte length-prefixed form MP4 stores.

    libx264 emits Annex B; FFmpeg's mp4 muxer converts on the fly, but fragments written by
    :mod:`ai_pipeline.encode.boxes` must carry the MP4 form themselves. Data that does not start
    with a start code is assumed to be converted already and is returned unchanged.
    """
    if not (data.startswith(_START_CODE) or data.startswith(b"\x00" + _START_CODE)):
        return data
    return b"".join(struct.pack(">I", len(unit)) + unit for unit in _annexb_nal_units(data))


def avc_codec_string(extradata: bytes) -> str:
    """``avc1.PPCCLL`` (profile, constraint flags, level) from avcC or Annex B extradata."""
    if extradata[:1] == b"\x01" and len(extradata) >= 4:  # avcC: version, profile, compat, level
        profile, constraints, level = extradata[1], extradata[2], extradata[3]
    else:
        sps = next((unit for unit in _annexb_nal_units(extradata) if unit[0] & 0x1F == 7), None)
        if sps is None or len(sps) < 4:
            raise ValueError("no H.264 sequence parameter set in extradata")
        profile, constraints, level = sps[1], sps[2], sps[3]
    return f"avc1.{profile:02X}{constraints:02X}{level:02X}"


def aac_codec_string(extradata: bytes) -> str:
    """``mp4a.40.N`` where N is the audio object type of the AudioSpecificConfig (2 = AAC-LC)."""
    if not extradata:
        return "mp4a.40.2"
    object_type = extradata[0] >> 3
    if object_type == 31 and len(extradata) >= 2:  # escape: 6 more bits follow
        object_type = 32 + (((extradata[0] & 0x07) << 3) | (extradata[1] >> 5))
    return f"mp4a.40.{object_type}"
