"""Speech to video: the one streamer every avatar video is made by (live conversations and renders)."""

from ai_pipeline.streaming.avatar_stream import (
    AvatarStream,
    Emitted,
    Enhance,
    Sink,
    live_encoder,
    stream_mime,
)
from ai_pipeline.streaming.protocol import SpeechStream

__all__ = ["AvatarStream", "Emitted", "Enhance", "Sink", "SpeechStream", "live_encoder", "stream_mime"]
