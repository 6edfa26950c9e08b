"""Where SadTalker looks at the photo: its 256 px crop and the 224 px input of the 3DMM regressor.

Both follow the published preprocessing, with our 468-point face mesh standing in for the 68 points
upstream detects (eyes as the mean of their contour, mouth corners, nose tip):

- :func:`crop_box` is the framing of SadTalker's cropper (``croper.py`` ``align_face``, the default
  ``crop`` mode): a square centred a tenth of the way from the eyes to the mouth, half a side of
  ``max(2 x eye distance, 1.8 x eye-to-mouth distance)``, which puts the eye line near y = 123 of 256;
- :func:`recon_input` is Deep3DFaceRecon's ``align_img``: five points fitted to the standard 3D face
  (``POS``), the image scaled so the face spans 102 units, a 224 px window cut around it.
"""

from __future__ import annotations

import cv2
import numpy as np

from ai_pipeline.talking_head import landmarks as lm

# Deep3DFaceRecon's five standard landmarks (eye centres, nose tip, mouth corners) of the BFM mean face,
# as ``load_lm3d`` reduces ``similarity_Lm3D_all.mat``; x right, y up.
LM3D_STD = np.array([[-0.31148657, 0.29036078, 0.13377953],
                     [0.30979887, 0.28972036, 0.13179526],
                     [0.0032535, -0.04617932, 0.55244243],
                     [-0.25216928, -0.38133916, 0.22405732],
                     [0.2484662, -0.38128236, 0.22235769]])
RECON_SIZE, RESCALE = 224, 102.0
NOSE_TIP = 1
# the eye corners (68-point 37/40 and 43/46), whose mean Deep3DFaceRecon takes as an eye's centre
EYE_CORNERS = ((33, 133), (362, 263))


def _eyes_and_mouth(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    eye_a = points[list(lm.RIGHT_EYE_UPPER + lm.RIGHT_EYE_LOWER)].mean(axis=0)  # image left
    eye_b = points[list(lm.LEFT_EYE_UPPER + lm.LEFT_EYE_LOWER)].mean(axis=0)
    return eye_a, eye_b, points[lm.MOUTH_LEFT], points[lm.MOUTH_RIGHT]


def crop_box(points: np.ndarray, size: int) -> tuple[int, int, int]:
    """Square (x0, y0, side) of SadTalker's cropper for the face ``points``, kept inside the ``size`` image."""
    eye_a, eye_b, mouth_a, mouth_b = (p.astype(np.float64) for p in _eyes_and_mouth(points))
    eye_avg, eye_to_eye = (eye_a + eye_b) / 2, eye_b - eye_a
    eye_to_mouth = (mouth_a + mouth_b) / 2 - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x = x / np.hypot(*x) * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    (x0, y0), (x1, y1) = quad.min(axis=0), quad.max(axis=0)  # upstream cuts the quad's bounding box
    side = int(min(size, round(max(x1 - x0, y1 - y0))))
    left = int(np.clip(round((x0 + x1 - side) / 2), 0, size - side))
    top = int(np.clip(round((y0 + y1 - side) / 2), 0, size - side))
    return left, top, side


def five_points(points: np.ndarray) -> np.ndarray:
    """Deep3DFaceRecon's five points (image-left eye, image-right eye, nose tip, mouth corners), (5, 2)."""
    eyes = [points[list(pair)].mean(axis=0) for pair in EYE_CORNERS]
    return np.stack([*eyes, points[NOSE_TIP], points[lm.MOUTH_LEFT], points[lm.MOUTH_RIGHT]]).astype(np.float64)


def _pos(xp: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares weak-perspective fit of 2-D points ``xp`` (2, n) to 3-D points ``x`` (3, n):
    translation (2,) and scale (Deep3DFaceRecon's ``POS``)."""
    n = xp.shape[1]
    a = np.zeros((2 * n, 8))
    a[0::2, 0:3], a[0::2, 3] = x.T, 1
    a[1::2, 4:7], a[1::2, 7] = x.T, 1
    k = np.linalg.lstsq(a, xp.T.reshape(2 * n, 1), rcond=None)[0][:, 0]
    scale = (np.linalg.norm(k[0:3]) + np.linalg.norm(k[4:7])) / 2
    return np.array([k[3], k[7]]), float(scale)


def recon_input(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The (224, 224, 3) uint8 window the 3DMM regressor reads, cut from ``image`` (RGB) around its face."""
    h0, w0 = image.shape[:2]
    five = five_points(points)
    five[:, 1] = h0 - 1 - five[:, 1]  # y up, as the standard face
    t, s = _pos(five.T, LM3D_STD.T)
    s = RESCALE / s
    w, h = int(w0 * s), int(h0 * s)
    left = int(w / 2 - RECON_SIZE / 2 + (t[0] - w0 / 2) * s)
    up = int(h / 2 - RECON_SIZE / 2 + (h0 / 2 - t[1]) * s)
    scaled = cv2.resize(image, (w, h), interpolation=cv2.INTER_CUBIC)
    out = np.zeros((RECON_SIZE, RECON_SIZE, 3), np.uint8)  # outside the photo: black, as PIL's crop
    sx0, sy0 = max(left, 0), max(up, 0)
    sx1, sy1 = min(left + RECON_SIZE, w), min(up + RECON_SIZE, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - up:sy1 - up, sx0 - left:sx1 - left] = scaled[sy0:sy1, sx0:sx1]
    return out
