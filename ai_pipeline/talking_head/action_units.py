"""Facial action units of the rig: vertex displacements of the 468 landmarks at full strength.

Each unit moves a few features (brows, lids, mouth corners, cheeks, lips, gaze) and lets the skin
around them follow with a Gaussian fall-off, so that the rig's interpolation spreads it smoothly. Sizes
are fractions of the face's own measures (mouth width, eye size, face height), so a unit looks the
same on every photo and at every frame size. Expressions (``expressions.py``) are mixes of units.
"""

from __future__ import annotations

import numpy as np

from ai_pipeline.talking_head import landmarks as lm

# Brows, inner end first (subject's right brow = image left).
RIGHT_BROW = (107, 66, 105, 63, 70, 55, 65, 52, 53, 46)
LEFT_BROW = (336, 296, 334, 293, 300, 285, 295, 282, 283, 276)
BROW_ALONG = (0.0, 0.25, 0.5, 0.75, 1.0, 0.0, 0.25, 0.5, 0.75, 1.0)  # 0 inner end, 1 outer end
EYES = ((lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER), (lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER))
CUTOFF = 0.02  # fall-off weights below this are zero, so a unit's field stays small


def _falloff(d: np.ndarray, sigma: float) -> np.ndarray:
    w = np.exp(-((d / sigma) ** 2))
    return np.where(w < CUTOFF, 0.0, w)


class ActionUnits:
    """Builds every unit's (468, 2) displacement from one face's landmarks and axes."""

    def __init__(self, points: np.ndarray, down: np.ndarray, right: np.ndarray) -> None:
        self.p = points.astype(np.float64)
        self.down, self.right = down.astype(np.float64), right.astype(np.float64)
        p = self.p
        self.mouth_w = float(np.linalg.norm(p[lm.MOUTH_RIGHT] - p[lm.MOUTH_LEFT]))
        self.face_h = float(np.linalg.norm(p[lm.CHIN] - p[lm.FOREHEAD]))
        self.eye_w = float(np.mean([np.linalg.norm(p[up[0]] - p[up[-1]]) for up, _ in EYES]))
        self.mid_x = float(np.mean(p[list(lm.FACE_OVAL)] @ self.right))  # the face's midline, along ``right``

    def _along(self, v: np.ndarray) -> np.ndarray:
        """(468,) amounts -> (468, 2) displacement along the face's up/down axis (positive: down)."""
        return v[:, None] * self.down[None, :]

    def _across(self, v: np.ndarray) -> np.ndarray:
        return v[:, None] * self.right[None, :]

    def _inward(self) -> np.ndarray:
        """+1 for landmarks on the image-left half (moving them right moves them to the midline), else -1."""
        return np.where(self.p @ self.right < self.mid_x, 1.0, -1.0)

    # -- brows ------------------------------------------------------------------------------

    def _brow_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Per landmark: how much it follows the nearer brow, and where along that brow it is."""
        weight = np.zeros(len(self.p))
        along = np.zeros(len(self.p))
        best = np.full(len(self.p), np.inf)
        for brow in (RIGHT_BROW, LEFT_BROW):
            pts = self.p[list(brow)]
            d = np.linalg.norm(self.p[:, None, :] - pts[None, :, :], axis=2)
            j = d.argmin(axis=1)
            near = d[np.arange(len(self.p)), j]
            closer = near < best
            best[closer] = near[closer]
            along[closer] = np.asarray(BROW_ALONG)[j[closer]]
        weight = _falloff(best, 0.45 * self.eye_w)
        # the eye itself stays: lids follow a brow only a little (they have their own units)
        for up, lo in EYES:
            weight[list(up) + list(lo)] *= 0.25
        return weight, along

    def brow_raise(self) -> np.ndarray:
        w, _ = self._brow_weights()
        return self._along(-0.045 * self.face_h * w)

    def brow_inner_raise(self) -> np.ndarray:
        w, along = self._brow_weights()
        inner = (1 - along) ** 1.5
        return (self._along(-0.04 * self.face_h * w * inner)
                + self._across(0.01 * self.face_h * w * inner * self._inward()))

    def brow_lower(self) -> np.ndarray:
        """Brows down and drawn together (the inner ends most)."""
        w, along = self._brow_weights()
        inner = 1 - along
        return (self._along(0.04 * self.face_h * w * (0.5 + 0.5 * inner))
                + self._across(0.035 * self.face_h * w * inner * self._inward()))

    # -- eyes -------------------------------------------------------------------------------

    def _lids(self, upper: float, lower: float) -> np.ndarray:
        """Upper lids moved by ``upper`` and lower lids by ``lower`` times the eye's opening (positive: down)."""
        out = np.zeros(len(self.p))
        for up, lo in EYES:
            gap = (self.p[list(lo)] - self.p[list(up)]) @ self.down
            out[list(up[1:-1])] = upper * gap[1:-1]
            out[list(lo[1:-1])] = lower * gap[1:-1]
        return self._along(out)

    def squint(self) -> np.ndarray:
        """Lower lids pushed up (as by raised cheeks)."""
        return self._lids(0.0, -0.3)

    def eyes_wide(self) -> np.ndarray:
        return self._lids(-0.3, 0.1)

    # -- mouth and cheeks -------------------------------------------------------------------

    def _corner_weights(self, sigma: float) -> np.ndarray:
        d = np.minimum(np.linalg.norm(self.p - self.p[lm.MOUTH_LEFT], axis=1),
                       np.linalg.norm(self.p - self.p[lm.MOUTH_RIGHT], axis=1))
        return _falloff(d, sigma * self.mouth_w)

    def smile(self) -> np.ndarray:
        """Mouth corners up and back, cheeks up."""
        w = self._corner_weights(0.32)
        out = self._along(-0.1 * self.mouth_w * w) + self._across(-0.05 * self.mouth_w * w * self._inward())
        for corner, (up, _) in ((lm.MOUTH_LEFT, EYES[0]), (lm.MOUTH_RIGHT, EYES[1])):
            cheek = self.p[corner] + 0.55 * (self.p[up[0]] - self.p[corner])
            wc = _falloff(np.linalg.norm(self.p - cheek, axis=1), 0.35 * self.mouth_w)
            out += self._along(-0.05 * self.mouth_w * wc)
        return out

    def frown(self) -> np.ndarray:
        """Mouth corners down."""
        w = self._corner_weights(0.3)
        return self._along(0.14 * self.mouth_w * w) + self._across(0.015 * self.mouth_w * w * self._inward())

    def lip_press(self) -> np.ndarray:
        """Lips pressed thin: each outer lip contour moves a third of the way to its inner one."""
        out = np.zeros_like(self.p)
        for outer, inner in ((lm.OUTER_UPPER, lm.INNER_UPPER), (lm.OUTER_LOWER, lm.INNER_LOWER)):
            out[list(outer[1:-1])] = 0.35 * (self.p[list(inner[1:-1])] - self.p[list(outer[1:-1])])
        return out

    # -- gaze (a dense field of its own, see FaceRig) -----------------------------------------

    def eye_ellipses(self) -> list[tuple[np.ndarray, float, float, np.ndarray]]:
        """Per eye: centre, half width, half height of its opening, and the unit vector corner to corner."""
        out = []
        for up, lo in EYES:
            a, b = self.p[up[0]], self.p[up[-1]]
            axis = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
            gap = float(np.max((self.p[list(lo)] - self.p[list(up)]) @ self.down))
            centre = (self.p[list(up)].mean(axis=0) + self.p[list(lo)].mean(axis=0)) / 2
            out.append((centre, float(np.linalg.norm(b - a)) / 2, max(gap, 1.0) / 2, axis))
        return out

    def all(self) -> dict[str, np.ndarray]:
        return {"brow_raise": self.brow_raise(), "brow_inner_raise": self.brow_inner_raise(),
                "brow_lower": self.brow_lower(), "squint": self.squint(), "eyes_wide": self.eyes_wide(),
                "smile": self.smile(), "frown": self.frown(), "lip_press": self.lip_press()}
