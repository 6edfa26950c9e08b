"""A face rig built from 468 landmarks: dense displacement fields, one per controllable motion.

Every motion (jaw opening, lip spread, lip rounding, head roll and shift, and the action units of
expressions: brows, lids, mouth corners, cheeks, gaze; see ``action_units.py``) is a
displacement of the mesh vertices; barycentric interpolation over a Delaunay triangulation of the
landmarks (plus a ring of fixed points around the face and the frame border) spreads it to every
pixel. Interpolation is linear, so the field for any mix of motions is the same mix of the basis
fields: a frame costs a few multiply-adds and one ``cv2.remap``, not a re-triangulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import Delaunay

from ai_pipeline.talking_head import landmarks as lm
from ai_pipeline.talking_head.action_units import ActionUnits

UPPER_LIP_SHARE = 0.25  # fraction of a mouth opening done by the upper lip (the jaw does the rest)
MAX_GAP = 0.42  # inner-lip gap at open=1, relative to mouth width


@dataclass(frozen=True)
class Basis:
    """A dense forward displacement field limited to a region of interest."""

    name: str
    y0: int
    y1: int
    x0: int
    x1: int
    field: np.ndarray  # (y1-y0, x1-x0, 2) float32, (dx, dy) per pixel
    vertices: np.ndarray  # (468, 2) float32 displacement of the landmarks themselves


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class FaceRig:
    """Basis fields for one prepared face; ``compose`` mixes them into one field per frame."""

    def __init__(self, points: np.ndarray, size: int) -> None:
        self.points = points.astype(np.float32)
        self.size = size
        p = self.points
        self.down = _unit(p[lm.CHIN] - p[lm.FOREHEAD])
        self.right = np.array([self.down[1], -self.down[0]], dtype=np.float32)
        self.mouth_w = float(np.linalg.norm(p[lm.MOUTH_RIGHT] - p[lm.MOUTH_LEFT]))
        self.mouth_c = (p[lm.UPPER_LIP_MID] + p[lm.LOWER_LIP_MID]) / 2
        self.face_h = float(np.linalg.norm(p[lm.CHIN] - p[lm.FOREHEAD]))
        self.rest_gap = float(np.dot(p[lm.LOWER_LIP_MID] - p[lm.UPPER_LIP_MID], self.down))
        self.max_gap = MAX_GAP * self.mouth_w
        self.units = ActionUnits(self.points, self.down, self.right)
        self._build_interpolator()
        self.bases = {b.name: b for b in (
            self._vertex_basis("jaw", self._jaw()),
            self._vertex_basis("wide", self._spread(0.12)),
            self._vertex_basis("round", self._spread(-0.14) + self._pucker()),
            *self._head_bases(),
            *(self._vertex_basis(name, disp) for name, disp in self.units.all().items()),
            self._gaze_basis(),
        )}

    # -- interpolation ----------------------------------------------------------------------

    def _build_interpolator(self) -> None:
        s = self.size
        centre = self.points[list(lm.FACE_OVAL)].mean(axis=0)
        oval = self.points[list(lm.FACE_OVAL)]
        rings = [centre + (oval - centre) * k for k in (1.25, 1.6)]
        edge = np.linspace(0, s - 1, 9)
        border = np.array([(x, y) for x in edge for y in (0, s - 1)] + [(x, y) for y in edge[1:-1] for x in (0, s - 1)],
                          dtype=np.float32)
        extra = np.clip(np.concatenate(rings), 1, s - 2)
        nodes = np.concatenate([self.points, extra, border]).astype(np.float64)
        tri = Delaunay(nodes)
        ys, xs = np.mgrid[0:s, 0:s]
        pix = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
        simplex = tri.find_simplex(pix)
        simplex[simplex < 0] = 0
        t = tri.transform[simplex]
        b = np.einsum("nij,nj->ni", t[:, :2], pix - t[:, 2])
        self._bary = np.concatenate([b, 1 - b.sum(axis=1, keepdims=True)], axis=1).astype(np.float32)
        self._verts = tri.simplices[simplex]
        self._n_nodes = len(nodes)

    def _vertex_basis(self, name: str, disp: np.ndarray) -> Basis:
        """Spread a (468, 2) vertex displacement to a dense field cropped to where it is non-zero."""
        full = np.zeros((self._n_nodes, 2), dtype=np.float32)
        full[: len(disp)] = disp
        dense = np.einsum("nk,nkc->nc", self._bary, full[self._verts]).reshape(self.size, self.size, 2)
        return _crop_basis(name, dense, disp.astype(np.float32))

    # -- motions ----------------------------------------------------------------------------

    def _face_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """(u, s) of every landmark: across the mouth and below the lip slit, in mouth widths."""
        p, w = self.points, self.mouth_w
        mids = (p[list(lm.INNER_UPPER)] + p[list(lm.INNER_LOWER)]) / 2
        mu = (mids - self.mouth_c) @ self.right / w
        ms = (mids - self.mouth_c) @ self.down / w
        u = (p - self.mouth_c) @ self.right / w
        slit = np.interp(u, mu, ms)
        s = (p - self.mouth_c) @ self.down / w - slit
        return u, s

    def _jaw(self) -> np.ndarray:
        """Opening by one pixel of inner-lip gap: jaw and lower lip down, upper lip a little up."""
        p = self.points
        u, s = self._face_coords()
        lipshape = np.sqrt(np.clip(1 - (u / 0.5) ** 2, 0, 1))
        pivot = (p[lm.CHEEK_LEFT] + p[lm.CHEEK_RIGHT]) / 2
        reach = float(np.dot(p[lm.CHIN] - pivot, self.down))
        frac = np.clip((p - pivot) @ self.down / reach, 0, 1.2)
        lower = _smoothstep(s / 0.05)
        lower[list(lm.INNER_LOWER[1:-1]) + list(lm.OUTER_LOWER[1:-1])] = 1.0
        near = np.clip(1 - s / 0.45, 0, 1)
        lateral = near * lipshape ** 0.7 + (1 - near)
        amount = lower * lateral * frac / max(frac[lm.LOWER_LIP_MID], 1e-3) * (1 - UPPER_LIP_SHARE)
        upper = lipshape * np.clip(1 + s / 0.35, 0, 1) * (s < 0)
        upper[list(lm.INNER_UPPER[1:-1])] = lipshape[list(lm.INNER_UPPER[1:-1])]
        amount -= upper * UPPER_LIP_SHARE
        return amount[:, None] * self.down[None, :]

    def _spread(self, scale: float) -> np.ndarray:
        """Lip corners moved outward (scale > 0, "и") or inward (scale < 0, "у")."""
        u, _ = self._face_coords()
        r = np.linalg.norm(self.points - self.mouth_c, axis=1) / self.mouth_w
        fall = np.clip(1 - (r - 0.55) / 0.5, 0, 1)
        dx = scale * self.mouth_w * np.clip(u / 0.5, -1.2, 1.2) * fall
        return dx[:, None] * self.right[None, :]

    def _pucker(self) -> np.ndarray:
        """Rounded lips also bulge: outer lip centres move away from the slit."""
        u, s = self._face_coords()
        shape = np.sqrt(np.clip(1 - (u / 0.5) ** 2, 0, 1))
        r = np.linalg.norm(self.points - self.mouth_c, axis=1) / self.mouth_w
        amount = 0.04 * self.mouth_w * shape * np.sign(s) * np.clip(1 - r / 0.6, 0, 1)
        return amount[:, None] * self.down[None, :]

    def _head_bases(self) -> list[Basis]:
        """Roll (per radian) and shift (per pixel) of the head, fading out over the neck."""
        s = self.size
        ys, xs = np.mgrid[0:s, 0:s].astype(np.float32)
        centre = self.points[list(lm.FACE_OVAL)].mean(axis=0)
        pivot = self.points[lm.CHIN] + self.down * 0.3 * self.face_h
        d = np.sqrt(((xs - centre[0]) / (0.75 * self.face_h)) ** 2 + ((ys - centre[1]) / (0.85 * self.face_h)) ** 2)
        weight = 1 - _smoothstep((d - 0.8) / 0.9)
        below = (np.stack([xs - pivot[0], ys - pivot[1]], -1) @ self.down) / self.face_h
        weight *= 1 - _smoothstep(below / 0.35)
        rot = np.stack([-(ys - pivot[1]), xs - pivot[0]], -1) * weight[..., None]
        bases = []
        for name, field in (("roll", rot), ("dx", np.stack([weight, 0 * weight], -1)),
                            ("dy", np.stack([0 * weight, weight], -1))):
            verts = field[np.clip(self.points[:, 1].astype(int), 0, s - 1), np.clip(self.points[:, 0].astype(int), 0, s - 1)]
            bases.append(Basis(name, 0, s, 0, s, field.astype(np.float32), verts.astype(np.float32)))
        return bases

    def _gaze_basis(self) -> Basis:
        """Gaze shift by one eye width across (``gaze_x``, towards image right).

        Inside each eye opening everything moves together from lid to lid (the eyeball slides under
        the lids, which stay), fading out towards the corners, where the white gives way."""
        import cv2

        s = self.size
        ys, xs = np.mgrid[0:s, 0:s].astype(np.float32)
        weight = np.zeros((s, s), np.float32)
        for (upper, lower), (centre, half_w, _, axis) in zip(
                ((lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER), (lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER)),
                self.units.eye_ellipses()):
            contour = np.concatenate([self.points[list(upper)], self.points[list(lower)][::-1]])
            mask = np.zeros((s * 4, s * 4), np.uint8)  # 4x supersampled for a soft edge
            cv2.fillPoly(mask, [np.round(contour * 4).astype(np.int32)], 255)
            inside = cv2.resize(mask, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
            along = np.abs((xs - centre[0]) * axis[0] + (ys - centre[1]) * axis[1]) / half_w
            weight = np.maximum(weight, inside * (1 - _smoothstep((along - 0.25) / 0.7)))
        field = (weight[..., None] * (self.units.eye_w * self.right)[None, None, :]).astype(np.float32)
        return _crop_basis("gaze_x", field, np.zeros((468, 2), np.float32))

    # -- per frame --------------------------------------------------------------------------

    def jaw_pixels(self, open_amount: float) -> float:
        """Gap change (pixels) that brings the rest gap of the photo to ``open_amount``."""
        return open_amount * self.max_gap - self.rest_gap

    def compose(self, coeffs: dict[str, float], out: np.ndarray) -> np.ndarray:
        """Forward displacement field for a mix of bases, written into ``out`` (size, size, 2)."""
        out.fill(0.0)
        for name, c in coeffs.items():
            if c == 0.0:
                continue
            b = self.bases[name]
            region = out[b.y0:b.y1, b.x0:b.x1]
            region += np.float32(c) * b.field
        return out

    def vertex_displacement(self, coeffs: dict[str, float]) -> np.ndarray:
        disp = np.zeros((468, 2), dtype=np.float32)
        for name, c in coeffs.items():
            if c:
                disp += np.float32(c) * self.bases[name].vertices
        return disp


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-6)).astype(np.float32)


def _crop_basis(name: str, dense: np.ndarray, verts: np.ndarray) -> Basis:
    mag = np.abs(dense).sum(axis=2)
    ys, xs = np.nonzero(mag > 1e-4)
    if len(ys) == 0:
        return Basis(name, 0, 1, 0, 1, np.zeros((1, 1, 2), np.float32), verts)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Basis(name, int(y0), int(y1), int(x0), int(x1), np.ascontiguousarray(dense[y0:y1, x0:x1]), verts)
