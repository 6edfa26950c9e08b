"""Typed chunks that flow between pipeline stages.

Every stage consumes and produces async iterators of these frozen dataclasses, so a stage can be
swapped for another engine without its neighbours noticing. Media payloads are numpy arrays; the
dataclasses are frozen but the arrays inside are treated as read-only by convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TranscriptSegment:
    """A recognised stretch of speech with its time span in seconds from the start of the audio."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Transcript:
    """What the user said. ``final`` is False for partial (still-listening) results."""

    text: str
    language: str
    segments: tuple[TranscriptSegment, ...] = ()
    audio_duration: float = 0.0
    final: bool = True
    processing_s: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (CLI ``--json``, REST, socket events)."""
        return {"text": self.text, "language": self.language, "final": self.final,
                "audio_duration_s": round(self.audio_duration, 3), "processing_s": round(self.processing_s, 3),
                "segments": [{"text": s.text, "start": round(s.start, 3), "end": round(s.end, 3)}
                             for s in self.segments]}


@dataclass(frozen=True)
class ChatMessage:
    """One message of an LLM prompt: role is "system", "user" or "assistant"."""

    role: str
    content: str


@dataclass(frozen=True)
class TokenChunk:
    """A piece of LLM output as it streams (one or a few tokens)."""

    text: str
    index: int = 0


@dataclass(frozen=True)
class ReplyChunk:
    """A speakable piece of a reply: ``text`` for the chat (markdown, emoji kept), ``speech`` for TTS."""

    text: str
    speech: str
    index: int = 0
    emotion: str = "neutral"
    emotion_confidence: float = 1.0  # how sure the classifier is (the face shows it this strongly)


@dataclass(frozen=True)
class PhonemeMark:
    """One phoneme with its time span in seconds, relative to the start of its audio chunk."""

    phoneme: str
    start: float
    end: float


@dataclass(frozen=True)
class AudioChunk:
    """Mono float32 PCM in [-1, 1] at ``sample_rate``, optionally with phoneme timings."""

    samples: np.ndarray
    sample_rate: int
    text: str = ""
    phonemes: tuple[PhonemeMark, ...] = ()
    index: int = 0
    emotion: str = "neutral"  # the reply chunk's emotion, shown on the face while this clip plays
    emotion_confidence: float = 1.0

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


@dataclass(frozen=True)
class FrameBatch:
    """Consecutive video frames plus exactly the audio that plays under them.

    ``frames`` is (N, H, W, 3) uint8 RGB. ``audio`` holds ``N / fps`` seconds of samples, so audio
    and video share one timeline by construction: an encoder writes both and they cannot drift.
    ``first_frame`` is the index of ``frames[0]`` within the whole clip. ``landmarks``, when the
    talking head knows them, is (N, 468, 2) float32: the face mesh of each frame in frame pixels (where
    the face really is after head motion), for the enhancement stage; None: unknown (use the avatar's).
    """

    frames: np.ndarray
    audio: np.ndarray
    sample_rate: int
    fps: int
    first_frame: int = 0
    final: bool = False
    landmarks: np.ndarray | None = None

    @property
    def duration(self) -> float:
        return len(self.frames) / float(self.fps)


@dataclass(frozen=True)
class VideoSegment:
    """An encoded media segment (an MP4 file, or a fragmented-MP4 init/media segment)."""

    data: bytes
    mime: str
    duration: float
    index: int = 0
    is_init: bool = False
