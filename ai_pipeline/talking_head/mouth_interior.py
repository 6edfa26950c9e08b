"""Paints the inside of an opened mouth: the photo's own teeth where it shows them, then a cavity.

The source photo's mouth opening (often a thin line, sometimes a smile with teeth) is split into an
upper half that stays attached to the upper lip (upper teeth are fixed to the skull) and a lower
half that travels with the lower lip. Whatever opens beyond the photo's own gap is the mouth's
inside: a shaded cavity (reddish near the lips and teeth, darker towards the back and the corners,
in shadow under the upper teeth), synthetic teeth in the photo's tooth colour only where the photo
shows none, and a tongue rising from behind the lower teeth once the mouth is open wide enough. At
the photo's own opening the painted pixels are exactly the photo's, so rest frames are untouched.
"""

from __future__ import annotations

import cv2
import numpy as np

from ai_pipeline.talking_head import landmarks as lm

CAVITY_EDGE = np.array([122, 54, 58], np.float32)
CAVITY_BACK = np.array([30, 10, 14], np.float32)
TONGUE = np.array([178, 88, 96], np.float32)
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
        self.photo_teeth, self.teeth_color = self._teeth_colour()

    def _teeth_colour(self) -> tuple[bool, np.ndarray]:
        """Whether the photo shows teeth, and their colour (a default when it does not)."""
        xs = np.arange(int(self.src_upper[:, 0].min()), int(self.src_upper[:, 0].max()) + 1)
        top, bottom = _curve(self.src_upper, xs), _curve(self.src_lower, xs)
        pixels = [self.image[int(y), x] for x, a, b in zip(xs, top, bottom) for y in np.arange(np.ceil(a), b)]
        if len(pixels) < 0.03 * self.mouth_w ** 2:  # mouth closed in the photo: no teeth to copy
            return False, DEFAULT_TEETH
        pix = np.array(pixels, np.float32)
        bright = pix[pix.sum(axis=1) >= np.percentile(pix.sum(axis=1), 70)]
        return True, np.median(bright, axis=0)

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
        map_y = np.where(from_upper, src_top[None, :] + a, src_bottom[None, :] - b).astype(np.float32)
        map_x = np.broadcast_to(src_x[None, :], map_y.shape).astype(np.float32)
        real = cv2.remap(self.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

        # the synthetic inside starts where the photo's own (teeth) ends
        synth = self._synthetic(a - half[None, :], b - half[None, :], np.maximum(gap - 2 * half, 0), t)
        # the photo's part where it reaches, blended over a pixel into the synthetic inside
        real_w = np.maximum(np.clip(half[None, :] - a + 0.5, 0, 1), np.clip(half[None, :] - b + 0.5, 0, 1))[..., None]
        inside = synth + real_w * (real.astype(np.float32) - synth)
        roi = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = (roi + alpha[..., None] * (inside - roi)).astype(np.uint8)

    def _synthetic(self, a: np.ndarray, b: np.ndarray, gap: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The inside beyond the photo's opening; ``a``/``b``: depth below its top/above its bottom (px),
        ``gap``: its height per column, ``t``: 0..1 from corner to corner."""
        w = self.mouth_w
        centre = np.clip(1 - ((t - 0.5) / 0.45) ** 2, 0, 1)[None, :]
        # cavity: lit near the lips, darker towards the back and into the corners, shadow under the top
        depth = np.clip(np.minimum(a, b) / np.maximum(gap[None, :] / 2, 1), 0, 1) ** 0.7
        dark = np.clip(0.55 * depth + 0.45 * (1 - centre) + 0.25 * np.clip(1 - a / 3.0, 0, 1), 0, 1)
        img = CAVITY_EDGE + dark[..., None] * (CAVITY_BACK - CAVITY_EDGE)
        if not self.photo_teeth:  # teeth the photo does not show: upper ones under the lip, lower ones a hint
            teeth_h = np.minimum(0.1 * w, 0.4 * gap)[None, :]
            shade = (0.7 + 0.3 * centre) * (1 - 0.2 * np.clip(a / np.maximum(teeth_h, 1), 0, 1))
            upper = np.clip(teeth_h - a + 0.5, 0, 1) * (centre > 0.05)
            img += upper[..., None] * (self.teeth_color * shade[..., None] - img)
            lower_h = np.clip(gap - 0.2 * w, 0, 0.05 * w)[None, :]
            lower = np.clip(lower_h - b + 0.5, 0, 1) * (centre > 0.2)
            img += lower[..., None] * (0.8 * self.teeth_color * shade[..., None] - img)
        # tongue: a rounded hump behind the lower teeth, lit on its top, once the mouth is open wide enough
        arch = np.sqrt(np.clip(1 - ((t - 0.5) / 0.32) ** 2, 0, 1))[None, :]
        hump = np.clip(gap - 0.08 * w, 0, None)[None, :] * 0.45 * arch
        tongue = np.clip((hump - b) / 2.0, 0, 1)
        lit = np.clip(1 - (hump - b) / np.maximum(hump, 1), 0, 1)  # 1 at the top of the hump
        colour = TONGUE[None, None, :] * (0.8 + 0.2 * lit[..., None])
        return img + tongue[..., None] * (colour - img)
