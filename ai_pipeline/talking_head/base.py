"""The talking-head stage interface.

An engine prepares a photo once (:meth:`TalkingHeadEngine.prepare`, cached) and then renders frames
for audio (:meth:`TalkingHeadEngine.render`) and for listening (:meth:`TalkingHeadEngine.idle`), both
blocking generators of :class:`FrameBatch` numbered from ``first_frame``: frame n depends only on n
(and the avatar's look, whose easing is itself a function of n), so pieces rendered one after another
join without a jump. Each clip's emotion (``AudioChunk.emotion``) shows on the face. The streamer
(:class:`ai_pipeline.streaming.AvatarStream`) drives them off the event loop, for live streams and
renders alike.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ai_pipeline.chunks import AudioChunk, FrameBatch
from ai_pipeline.engine import Engine
from ai_pipeline.media.image_io import DEFAULT_MAX_PIXELS
from ai_pipeline.talking_head.expressions import RECIPES, Look
from ai_pipeline.talking_head.prepare import PreparedFace, prepare_face


@dataclass(frozen=True)
class Avatar:
    """A prepared face plus whatever the engine precomputed for it.

    ``look`` is the expression it wears (see :class:`~ai_pipeline.talking_head.expressions.Look`): the
    streamer hands the engine ``avatar.wearing(look)`` for each piece it renders; None: the clip's own
    emotion (``AudioChunk.emotion``), held steady.
    """

    face: PreparedFace
    state: Any = None
    look: Look | None = None

    def wearing(self, look: Look | None) -> Avatar:
        return replace(self, look=look)

    def look_for(self, audio: AudioChunk) -> Look:
        """The look to render ``audio`` with: the avatar's, else the clip's emotion held steady."""
        if self.look is not None:
            return self.look
        return Look.steady(audio.emotion, audio.emotion_confidence) if audio.emotion in RECIPES else Look()

    @property
    def id(self) -> str:
        return self.face.avatar_id

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.face.warnings


def frame_bounds(n_samples: int, sample_rate: int, fps: int) -> tuple[int, np.ndarray]:
    """Number of frames covering ``n_samples`` and the sample index where each frame starts (+ end)."""
    n_frames = max(1, int(np.ceil(n_samples * fps / sample_rate - 1e-9)))
    bounds = np.round(np.arange(n_frames + 1) * sample_rate / fps).astype(np.int64)
    return n_frames, bounds


class TalkingHeadEngine(Engine):
    """Base class for talking-head engines (built from ``(settings, models_dir)`` like every engine).

    Their settings have at least ``size`` and ``fps``.
    """

    @property
    def fps(self) -> int:
        return int(self.settings.fps)

    @property
    def size(self) -> int:
        return int(self.settings.size)

    def load(self) -> None:
        """Load models (blocking). Light engines have nothing to load."""

    def close(self) -> None:
        """Release models."""

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "size": self.size, "fps": self.fps}

    def prepare(self, photo: bytes, *, cache_dir: Path | None = None, min_face_px: int = 64,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> Avatar:
        """Analyse a photo once (cached on disk) and build the engine's per-face state."""
        face = prepare_face(photo, size=self.size, min_face_px=min_face_px, cache_dir=cache_dir,
                            max_pixels=max_pixels)
        return Avatar(face, self.build_state(face))

    def build_state(self, face: PreparedFace) -> Any:
        """Engine-specific precomputation for a face (kept in memory with the Avatar)."""
        return None

    @abstractmethod
    def render(self, avatar: Avatar, audio: AudioChunk, first_frame: int = 0) -> Iterator[FrameBatch]:
        """Frames for ``audio`` (padded with silence to whole frames), in batches; blocking."""

    def idle(self, avatar: Avatar, seconds: float, sample_rate: int, first_frame: int = 0) -> Iterator[FrameBatch]:
        """Frames of the avatar listening: blinks and slight motion, mouth closed, silent audio."""
        silence = np.zeros(int(round(seconds * sample_rate)), dtype=np.float32)
        return self.render(avatar, AudioChunk(silence, sample_rate), first_frame)
