"""Encode stage: FrameBatches (RGB frames + their audio) to MP4 - a whole file or live fMP4 segments."""

from ai_pipeline.encode.base import SegmentEncoder, encode_stream
from ai_pipeline.encode.fmp4 import FragmentedMp4Stream
from ai_pipeline.encode.mp4 import Mp4Encoder

__all__ = ["FragmentedMp4Stream", "Mp4Encoder", "SegmentEncoder", "encode_stream"]
