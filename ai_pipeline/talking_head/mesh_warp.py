"""Light talking-head engine: warps the photo itself with a landmark rig, on the CPU, in real time.

Per frame: mouth shape from the audio (phoneme visemes when the TTS gives them, loudness always),
the expression the avatar wears (emotion, thinking, listening: action units, see ``expressions.py``),
a blink schedule and a slow head sway are mixed into one displacement field (see ``rig.py``), the
photo is resampled once with ``cv2.remap``, the opened mouth's inside is painted
(``mouth_interior.py``) and the eyelids are drawn over the eyes while blinking (``eyelids.py``). No model
weights beyond the face mesh used at preparation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
from pydantic import Field

from ai_pipeline.chunks import AudioChunk, FrameBatch
from ai_pipeline.engine import EngineInfo, EngineSettings
from ai_pipeline.talking_head import landmarks as lm
from ai_pipeline.talking_head.articulation import mouth_track
from ai_pipeline.talking_head.base import Avatar, TalkingHeadEngine, frame_bounds
from ai_pipeline.talking_head.expressions import LISTENING, MOUTH_TERMS, Look
from ai_pipeline.talking_head.eyelids import Eyelids
from ai_pipeline.talking_head.motion import BlinkSchedule, head_pose, listening_motion
from ai_pipeline.talking_head.mouth_interior import MouthInterior
from ai_pipeline.talking_head.prepare import PreparedFace

if TYPE_CHECKING:
    from ai_pipeline.talking_head.rig import FaceRig  # scipy.spatial: imported when a face is prepared


@dataclass
class _FaceState:
    rig: FaceRig
    interior: MouthInterior
    eyelids: Eyelids
    blinks: BlinkSchedule
    grid: np.ndarray  # (size, size, 2) pixel coordinates
    field: np.ndarray  # scratch buffer for the displacement field


class MeshWarpSettings(EngineSettings):
    engine: Literal["mesh_warp"] = "mesh_warp"
    size: int = Field(512, ge=128, le=1024)
    fps: int = Field(25, ge=10, le=60)
    batch_frames: int = Field(10, ge=1, le=100)
    blink_interval_s: float = Field(3.5, gt=0.5)
    head_motion: float = Field(1.0, ge=0.0, le=3.0)
    mouth_gain: float = Field(1.0, ge=0.0, le=2.0)
    seed: int = 0


class MeshWarpEngine(TalkingHeadEngine):
    """Landmark-rig warping of the photo (the CPU default)."""

    name = "mesh_warp"
    settings_class = MeshWarpSettings
    info = EngineInfo(label_ru="Лёгкая анимация лица (CPU)", heavy=False, vram_mb=0)

    def __init__(self, settings: MeshWarpSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)

    def build_state(self, face: PreparedFace) -> _FaceState:
        from ai_pipeline.talking_head.rig import FaceRig

        s = face.size
        ys, xs = np.mgrid[0:s, 0:s].astype(np.float32)
        return _FaceState(
            rig=FaceRig(face.landmarks, s),
            interior=MouthInterior(face.image, face.landmarks),
            eyelids=Eyelids(face.image, face.landmarks),
            blinks=BlinkSchedule(self.fps, self.settings.blink_interval_s, self.settings.seed),
            grid=np.stack([xs, ys], axis=-1),
            field=np.zeros((s, s, 2), np.float32),
        )

    def render(self, avatar: Avatar, audio: AudioChunk, first_frame: int = 0) -> Iterator[FrameBatch]:
        st: _FaceState = avatar.state
        rate, fps = audio.sample_rate, self.fps
        n_frames, bounds = frame_bounds(len(audio.samples), rate, fps)
        samples = np.zeros(bounds[-1], np.float32)
        samples[: len(audio.samples)] = audio.samples
        track = mouth_track(samples, rate, fps, n_frames, audio.phonemes, self.settings.mouth_gain)
        look = avatar.look_for(audio)
        # a slow "speech energy" for small nods while talking
        energy = np.convolve(track[:, 0], np.ones(12) / 12, mode="same")
        step = self.settings.batch_frames
        for start in range(0, n_frames, step):
            stop = min(start + step, n_frames)
            drawn = [self.frame_and_points(avatar, first_frame + i, track[i], float(energy[i]), look)
                     for i in range(start, stop)]
            yield FrameBatch(np.stack([f for f, _ in drawn]), samples[bounds[start]:bounds[stop]], rate, fps,
                             first_frame + start, final=stop == n_frames,
                             landmarks=np.stack([p for _, p in drawn]))

    def frame(self, avatar: Avatar, index: int, mouth: np.ndarray, energy: float = 0.0) -> np.ndarray:
        """One RGB frame: ``mouth`` is (open, wide, round[, closed]); ``index`` drives blinks and head motion."""
        return self.frame_and_points(avatar, index, mouth, energy)[0]

    def frame_and_points(self, avatar: Avatar, index: int, mouth: np.ndarray, energy: float = 0.0,
                         look: Look | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One RGB frame and its 468 landmarks (float32, frame pixels) as the rig moved them; ``look``
        (default: the avatar's, else none) adds the expression."""
        st: _FaceState = avatar.state
        rig, scale = st.rig, avatar.face.size / 512
        roll, dx, dy = head_pose(index, self.fps, self.settings.head_motion, self.settings.seed, speech=energy)
        blink = st.blinks.amount(index)
        look = look if look is not None else avatar.look or Look()
        units = look.units(index, self.fps)
        listening = look.weights(index, self.fps).get(LISTENING, 0.0)
        if listening:
            nod, brow = listening_motion(index, self.fps, self.settings.seed)
            dy += listening * nod * self.settings.head_motion
            units["brow_raise"] = units.get("brow_raise", 0.0) + 0.45 * listening * brow
        opening, closed = float(mouth[0]), float(mouth[3]) if len(mouth) > 3 else 0.0
        # pressed lips hold the opening back; a surprised jaw stays a little open between sounds, never on п/б/м
        opening *= 1 - units.get("press", 0.0)
        opening += units.get("jaw", 0.0) * (1 - opening) * (1 - closed)
        coeffs = {
            "jaw": rig.jaw_pixels(opening), "wide": float(mouth[1]), "round": float(mouth[2]),
            "roll": math.radians(roll), "dx": dx * scale, "dy": dy * scale,
        }
        for unit, amount in units.items():
            if unit not in MOUTH_TERMS:
                coeffs[unit] = coeffs.get(unit, 0.0) + amount
        field = rig.compose(coeffs, st.field)
        # backward map: find p with p + D(p) = q by one fixed-point step from p0 = q - D(q)
        first = st.grid - field
        refined = cv2.remap(field, first[..., 0], first[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mapping = st.grid - refined
        out = cv2.remap(avatar.face.image, mapping[..., 0], mapping[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
        disp = rig.vertex_displacement(coeffs)
        verts = rig.points + disp
        st.interior.paint(out, verts[list(lm.INNER_UPPER)], verts[list(lm.INNER_LOWER)])
        st.eyelids.paint(out, blink, disp)
        return out, verts.astype(np.float32)
