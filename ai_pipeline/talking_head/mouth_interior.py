"""Paints the inside of an opened mouth: the photo's own teeth where it shows them, then a cavity.

The source photo's mouth opening (often a thin line, sometimes a smile with teeth) is split into an
upper half that stays attached to the upper lip (upper teeth are fixed to the skull) and a lower
half that travels with the lower lip. Whatever opens beyond the photo's own gap is a dark cavity
with synthetic upper teeth in the photo's tooth colour and a hint of tongue. At the photo's own
opening the painted pixels are exactly the photo's, so rest frames are untouched.
"""

from __future__ import annotations

import cv2
import numpy as np

from ai_pipeline.talking_head import landmarks as lm

CAVITY_EDGE = np.array([92, 38, 44], np.float32)
CAVITY_BACK = np.array([28, 9, 13], np.float32)
TONGUE = np.array([150, 62, 72], np.float32)
DEFAULT_TEETH = np.array([226, 220, 206], np.float32)


def _curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])


class MouthInterior:
    """Per-face painter of the inner mouth; call :meth:`paint` on each warped frame."""

    def __init__(self, image: np.ndarray, points: np.ndarray) -> None:
        self.image = image
        self.src_upper = points[list(lm.INNER_UPPER)].astype(np.float32)
        self.src_lower = points[list(lm.INNER_LOWER)].astype(np.float32)
        self.mouth_w = float(np.linalg.norm(points[lm.MOUTH_RIGHT] - points[lm.MOUTH_LEFT]))
        self.teeth_color = self._teeth_colour()

    def _teeth_colour(self) -> np.ndarray:
        xs = np.arange(int(self.src_upper[:, 0].min()), int(self.src_upper[:, 0].max()) + 1)
        top, bottom = _curve(self.src_upper, xs), _curve(self.src_lower, xs)
        pixels = [self.image[int(y), x] for x, a, b in zip(xs, top, bottom) for y in np.arange(np.ceil(a), b)]
        if len(pixels) < 0.03 * self.mouth_w ** 2:  # mouth closed in the photo: no teeth to copy
            return DEFAULT_TEETH
        pix = np.array(pixels, np.float32)
        bright = pix[pix.sum(axis=1) >= np.percentile(pix.sum(axis=1), 70)]
        return np.median(bright, axis=0)

    def paint(self, frame: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> None:
        """Paint in place between the displaced inner-lip contours ``upper`` and ``lower``."""
        h, w = frame.shape[:2]
        pts = np.concatenate([upper, lower])
        x0, x1 = int(max(np.floor(pts[:, 0].min()), 0)), int(min(np.ceil(pts[:, 0].max()) + 1, w))
        y0, y1 = int(max(np.floor(pts[:, 1].min()) - 1, 0)), int(min(np.ceil(pts[:, 1].max()) + 2, h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        xs = np.arange(x0, x1, dtype=np.float32)
        top, bottom = _curve(upper, xs), _curve(lower, xs)
        gap = bottom - top
        if float(gap.max()) < 0.5:
            return
        # horizontal correspondence with the photo's mouth, corner to corner
        c0, c1 = float(upper[0, 0]), float(upper[-1, 0])
        t = np.clip((xs - c0) / max(c1 - c0, 1e-3), 0, 1)
        src_x = self.src_upper[0, 0] + t * (self.src_upper[-1, 0] - self.src_upper[0, 0])
        src_top, src_bottom = _curve(self.src_upper, src_x), _curve(self.src_lower, src_x)
        half = np.maximum(src_bottom - src_top, 0) / 2

        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        a = ys - top[None, :]  # depth below the upper lip
        b = bottom[None, :] - ys  # height above the lower lip
        alpha = np.clip(np.minimum(a, b) + 0.5, 0, 1) * (gap[None, :] > 0.5)
        if not alpha.any():
            return
        from_upper = a <= half[None, :]
        from_lower = ~from_upper & (b <= half[None, :])
        map_y = np.where(from_upper, src_top[None, :] + a, src_bottom[None, :] - b).astype(np.float32)
        map_x = np.broadcast_to(src_x[None, :], map_y.shape).astype(np.float32)
        real = cv2.remap(self.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

        synth = self._synthetic(a, b, gap, t)
        use_real = (from_upper | from_lower)[..., None]
        inside = np.where(use_real, real.astype(np.float32), synth)
        roi = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = (roi + alpha[..., None] * (inside - roi)).astype(np.uint8)

    def _synthetic(self, a: np.ndarray, b: np.ndarray, gap: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Dark cavity, upper teeth under the upper lip, tongue at the bottom of wide openings."""
        depth = np.clip(np.minimum(a, b) / np.maximum(gap[None, :] / 2, 1), 0, 1) ** 0.6
        centre = np.clip(1 - ((t - 0.5) / 0.38) ** 2, 0, 1)[None, :]
        mix = (depth * (0.4 + 0.6 * centre))[..., None]
        img = CAVITY_EDGE + mix * (CAVITY_BACK - CAVITY_EDGE)
        teeth_h = np.minimum(0.11 * self.mouth_w, 0.45 * gap)[None, :]
        teeth = (a < teeth_h) & (centre > 0.05)
        shade = (0.62 + 0.38 * centre) * (1 - 0.25 * np.clip(a / np.maximum(teeth_h, 1), 0, 1))
        img = np.where(teeth[..., None], self.teeth_color[None, None, :] * shade[..., None], img)
        tongue_h = np.clip(gap - 0.12 * self.mouth_w, 0, None)[None, :] * 0.35
        tongue = np.clip((tongue_h - b) / 3.0, 0, 1) * centre * ~teeth
        return img + tongue[..., None] * (TONGUE * (0.7 + 0.3 * centre[..., None]) - img)
