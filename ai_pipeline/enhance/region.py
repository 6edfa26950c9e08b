"""Where to enhance: a square box around the face with a feathered mask, and the paste-back.

Enhancement runs on the face only (the detail that matters, at a fraction of the cost of the whole
frame); the result is blended back through a mask that fades to zero at the box edges, so the frame
outside the box is untouched and there is no visible seam at its border.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceRegion:
    """A square ``side`` x ``side`` box at (``x``, ``y``) in frame pixels and its blend mask."""

    x: int
    y: int
    side: int
    mask: np.ndarray  # (side, side, 1) float32 in [0, 1]: 1 inside, fading to 0 at the edges

    @classmethod
    def around(cls, landmarks: np.ndarray, frame_hw: tuple[int, int], margin: float = 0.25,
               feather: float = 0.15) -> FaceRegion:
        """The box around ``landmarks`` (N, 2 pixel x/y), grown by ``margin`` of its size on each side
        (room for head motion), clipped to the frame; ``feather`` is the fade width as a share of the side."""
        h, w = frame_hw
        lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
        centre = (lo + hi) / 2
        side = int(round(float((hi - lo).max()) * (1 + 2 * margin)))
        side = max(16, min(side, h, w))
        x = int(np.clip(round(centre[0] - side / 2), 0, w - side))
        y = int(np.clip(round(centre[1] - side / 2), 0, h - side))
        return cls(x, y, side, feather_mask(side, feather))

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.side), slice(self.x, self.x + self.side)

    def paste(self, frame: np.ndarray, enhanced: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """``frame`` with ``enhanced`` (side x side RGB) blended into the box (a new array)."""
        out = frame.copy()
        rows, cols = self.slices
        alpha = self.mask * float(strength)
        base = frame[rows, cols].astype(np.float32)
        out[rows, cols] = np.clip(base + alpha * (enhanced.astype(np.float32) - base) + 0.5, 0, 255).astype(np.uint8)
        return out


def feather_mask(side: int, feather: float) -> np.ndarray:
    """A square mask: 1 in the middle, a smoothstep fade over ``feather * side`` pixels to 0 at the border."""
    ramp_px = max(1.0, feather * side)
    d = np.minimum(np.arange(side), np.arange(side)[::-1]).astype(np.float32) + 0.5  # distance to the border
    t = np.clip(d / ramp_px, 0.0, 1.0)
    t = t * t * (3 - 2 * t)
    t[[0, -1]] = 0.0  # the outermost pixels stay the original frame exactly
    return (t[:, None] * t[None, :])[..., None].astype(np.float32)
