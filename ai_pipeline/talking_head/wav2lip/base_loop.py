"""The avatar's base loop: a few seconds of the face alive (head motion, blinks, mouth closed).

Made once per photo, by SadTalker (``ai_pipeline/talking_head/sadtalker``, offline, cached as
``<avatar folder>/base_loop_sadtalker.npz``) or, always available and cheap, by the mesh_warp
engine's idle rendering. Lip-sync engines redraw only the mouth over it. The loop is played forward
then backward (ping-pong), so it never jumps, and frame ``n`` of any clip maps to base frame
:meth:`BaseLoop.index` ``(n)``: a pure function, so pieces rendered separately join seamlessly.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ai_pipeline.talking_head import landmarks as lm
from ai_pipeline.talking_head.prepare import PreparedFace

if TYPE_CHECKING:
    from ai_pipeline.talking_head.mesh_warp import MeshWarpSettings

Progress = Callable[[float, str], None]
LOOP_VERSION = 1


@dataclass(frozen=True)
class BaseLoop:
    """``frames`` (N, S, S, 3) uint8 RGB and the 468 landmarks of each frame (N, 468, 2)."""

    frames: np.ndarray
    landmarks: np.ndarray
    fps: int
    source: str  # "sadtalker" or "mesh_warp"

    def __len__(self) -> int:
        return len(self.frames)

    def index(self, frame: int) -> int:
        """Base frame shown at clip frame ``frame``: 0, 1, ..., N-1, N-2, ..., 1, 0, 1, ..."""
        n = len(self.frames)
        if n == 1:
            return 0
        k = frame % (2 * n - 2)
        return k if k < n else 2 * n - 2 - k

    def save(self, path: Path) -> None:
        """Write atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.part.npz")
        np.savez_compressed(tmp, frames=self.frames, landmarks=self.landmarks.astype(np.float32),
                            fps=np.int64(self.fps), source=np.array(self.source), version=np.int64(LOOP_VERSION))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> BaseLoop | None:
        """The cached loop at ``path``, or None when absent, unreadable or of another version."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["version"]) != LOOP_VERSION:
                    return None
                return cls(data["frames"], data["landmarks"].astype(np.float32), int(data["fps"]), str(data["source"]))
        except (OSError, KeyError, ValueError):
            return None


def loop_path(folder: Path, source: str) -> Path:
    return folder / f"base_loop_{source}.npz"


def mesh_warp_loop(face: PreparedFace, n_frames: int, settings: MeshWarpSettings,
                   progress: Progress | None = None) -> BaseLoop:
    """The base loop drawn by the mesh_warp engine (idle: mouth closed) with exact per-frame landmarks."""
    from ai_pipeline.talking_head.base import Avatar
    from ai_pipeline.talking_head.mesh_warp import MeshWarpEngine
    from ai_pipeline.talking_head.motion import head_pose

    engine = MeshWarpEngine(settings)
    avatar = Avatar(face, engine.build_state(face))
    rig, scale, closed = avatar.state.rig, face.size / 512, np.zeros(3, np.float32)
    frames = np.empty((n_frames, face.size, face.size, 3), np.uint8)
    points = np.empty((n_frames, 468, 2), np.float32)
    for i in range(n_frames):
        frames[i] = engine.frame(avatar, i, closed)
        roll, dx, dy = head_pose(i, settings.fps, settings.head_motion, settings.seed)
        coeffs = {"jaw": rig.jaw_pixels(0.0), "roll": math.radians(roll), "dx": dx * scale, "dy": dy * scale}
        points[i] = rig.points + rig.vertex_displacement(coeffs)
        if progress and i % 10 == 0:
            progress(i / n_frames, "Базовый цикл (mesh_warp)")
    return BaseLoop(frames, points, settings.fps, "mesh_warp")


def mouth_boxes(landmarks: np.ndarray, size: int, smooth: int = 5) -> np.ndarray:
    """(N, 4) integer face boxes x0, y0, x1, y1 per frame, as Wav2Lip was trained on: from about the
    eyebrows to just below the chin, cheek to cheek; smoothed over ``smooth`` frames."""
    pts = landmarks.astype(np.float64)
    top, chin = pts[:, lm.FOREHEAD, 1], pts[:, lm.CHIN, 1]
    height = chin - top
    boxes = np.stack([pts[:, :, 0].min(axis=1), top + 0.22 * height, pts[:, :, 0].max(axis=1), chin + 0.06 * height], 1)
    if smooth > 1 and len(boxes) > 1:
        pad = smooth // 2
        padded = np.pad(boxes, ((pad, pad), (0, 0)), mode="edge")
        kernel = np.ones(smooth) / smooth
        boxes = np.stack([np.convolve(padded[:, j], kernel, mode="valid") for j in range(4)], 1)
    boxes = np.round(boxes).astype(np.int64)
    boxes[:, [0, 1]] = np.clip(boxes[:, [0, 1]], 0, size - 2)
    boxes[:, [2, 3]] = np.clip(boxes[:, [2, 3]], boxes[:, [0, 1]] + 2, size)
    return boxes
