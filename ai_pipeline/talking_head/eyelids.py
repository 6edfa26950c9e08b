"""Blinks: the upper eyelid slides down over the eye, painted from the photo's own lid skin.

A band of skin just above each upper lid (lid edge and lashes at its bottom) is stretched down to
the current lid position, so the eye is covered by real skin with the lashes at the closing edge.
At blink amount 0 the mapping is the identity, so open eyes are the photo's own pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from ai_pipeline.talking_head import landmarks as lm

EYES = ((lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER), (lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER))


def _curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])


class Eyelids:
    """Per-face blink painter; :meth:`paint` works on an already warped frame."""

    def __init__(self, image: np.ndarray, points: np.ndarray) -> None:
        self.image = image
        self.eyes = [(points[list(up)].astype(np.float32), points[list(lo)].astype(np.float32)) for up, lo in EYES]
        self.skin = [0.9 * float(np.max(lo[:, 1] - up[:, 1])) + 2.0 for up, lo in self.eyes]

    def paint(self, frame: np.ndarray, amount: float, disp: np.ndarray) -> None:
        """Close both eyes by ``amount`` (0 open, 1 shut); ``disp`` is the (468, 2) landmark displacement."""
        if amount <= 0.01:
            return
        for (up_idx, lo_idx), (src_up, src_lo), skin in zip(EYES, self.eyes, self.skin):
            up = src_up + disp[list(up_idx)]
            lo = src_lo + disp[list(lo_idx)]
            self._close_one(frame, amount, up, lo, src_up, disp[list(up_idx)], skin)

    def _close_one(self, frame: np.ndarray, amount: float, up: np.ndarray, lo: np.ndarray,
                   src_up: np.ndarray, up_disp: np.ndarray, skin: float) -> None:
        h, w = frame.shape[:2]
        x0, x1 = int(max(np.floor(up[:, 0].min()), 0)), int(min(np.ceil(up[:, 0].max()) + 1, w))
        y0 = int(max(np.floor(up[:, 1].min() - skin) - 1, 0))
        y1 = int(min(np.ceil(lo[:, 1].max()) + 2, h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        xs = np.arange(x0, x1, dtype=np.float32)
        top = _curve(up, xs)
        lid = top + amount * np.maximum(_curve(lo, xs) - top, 0)  # current lid edge
        shift = np.stack([np.interp(xs, up[:, 0], up_disp[:, k]) for k in (0, 1)])
        src_x = xs - shift[0]
        src_top = _curve(src_up, src_x)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        band_top = top - skin
        t = (ys - band_top[None, :]) / np.maximum(lid - band_top, 1e-3)[None, :]
        map_y = (src_top - skin)[None, :] + np.clip(t, 0, 1) * skin
        map_x = np.broadcast_to(src_x[None, :], map_y.shape).astype(np.float32)
        painted = cv2.remap(self.image, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        alpha = np.clip(lid[None, :] - ys + 0.5, 0, 1) * (t >= 0)
        # fade out at the corners, where the lids meet anyway
        alpha *= np.clip((lid - top) / 1.5, 0, 1)[None, :]
        roi = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = (roi + alpha[..., None] * (painted - roi)).astype(np.uint8)
