"""Expressions on Wav2Lip's base frames: the mesh-warp rig's action units (brows, lids, cheeks, mouth
corners, gaze) warped onto each base frame before its mouth is redrawn.

The rig is built once per avatar from the photo's landmarks, on first use (a neutral avatar never
pays for it). A base frame has moved a little from the photo (head sway), so the field is moved
with it: by the shift of the frame's landmarks from the photo's, to the nearest pixel.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ai_pipeline.talking_head.expressions import MOUTH_TERMS, Look
from ai_pipeline.talking_head.prepare import PreparedFace

ARTICULATION = ("jaw", "wide", "round")  # the mouth's own motions: the generator draws those


class ExpressionWarp:
    """Per-avatar warper; :meth:`apply` changes frames in place."""

    def __init__(self, face: PreparedFace) -> None:
        self.face = face
        self._lock = threading.Lock()
        self._rig = None
        s = face.size
        ys, xs = np.mgrid[0:s, 0:s].astype(np.float32)
        self._grid = np.stack([xs, ys], axis=-1)

    def _built(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._rig is None:
                from ai_pipeline.talking_head.rig import FaceRig  # scipy.spatial

                self._rig = FaceRig(self.face.landmarks, self.face.size)
            return self._rig

    def apply(self, frames: np.ndarray, numbers: range, landmarks: np.ndarray, look: Look, fps: int) -> None:
        """Warp each of ``frames`` (frame numbers ``numbers``, base-frame ``landmarks``) to wear ``look``."""
        for j, n in enumerate(numbers):
            units = {k: v for k, v in look.units(n, fps).items() if k not in MOUTH_TERMS and k not in ARTICULATION}
            if not units:
                continue
            rig = self._built()
            field = rig.compose(units, np.zeros_like(self._grid))
            dx, dy = np.round(landmarks[j].mean(axis=0) - self.face.landmarks.mean(axis=0)).astype(int)
            field = _shifted(field, int(dx), int(dy))
            first = self._grid - field
            refined = cv2.remap(field, first[..., 0], first[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            mapping = self._grid - refined
            frames[j] = cv2.remap(frames[j], mapping[..., 0], mapping[..., 1], cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)


def _shifted(field: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``field`` moved by (dx, dy) whole pixels, zero where it moved in from outside."""
    if dx == 0 and dy == 0:
        return field
    out = np.zeros_like(field)
    h, w = field.shape[:2]
    src = field[max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)]
    out[max(0, dy): max(0, dy) + src.shape[0], max(0, dx): max(0, dx) + src.shape[1]] = src
    return out
