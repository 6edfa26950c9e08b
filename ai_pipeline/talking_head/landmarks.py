"""Face detection and 468-point face mesh via the models bundled in the mediapipe 0.10.21 wheel.

Also names the landmark indices the talking-head engines use (lips, eyes, face oval). mediapipe
graphs are not thread-safe, so every call builds its detector under a lock; detection is a
once-per-photo (prepare) or test-time operation, never on the per-frame path.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

# Inner lip contours, corner to corner (image left to image right).
INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
# Eye lids, corner to corner. "Right" is the subject's right eye (image left).
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (362, 398, 384, 385, 386, 387, 388, 466, 263)
LEFT_EYE_LOWER = (362, 382, 381, 380, 374, 373, 390, 249, 263)
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
FOREHEAD, CHIN, UPPER_LIP_MID, LOWER_LIP_MID = 10, 152, 13, 14
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
CHEEK_LEFT, CHEEK_RIGHT = 234, 454

_lock = threading.Lock()


@dataclass(frozen=True)
class FaceBox:
    """A detected face in pixel coordinates with its eye centres (for alignment)."""

    x: float
    y: float
    w: float
    h: float
    score: float
    right_eye: tuple[float, float]
    left_eye: tuple[float, float]

    @property
    def area(self) -> float:
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


def detect_faces(rgb: np.ndarray, min_score: float = 0.5) -> list[FaceBox]:
    """All faces in an RGB image, largest first (full-range BlazeFace model)."""
    from mediapipe.python.solutions.face_detection import FaceDetection

    h, w = rgb.shape[:2]
    with _lock, FaceDetection(model_selection=1, min_detection_confidence=min_score) as det:
        result = det.process(np.ascontiguousarray(rgb))
    faces = []
    for d in result.detections or []:
        box = d.location_data.relative_bounding_box
        kp = d.location_data.relative_keypoints
        faces.append(FaceBox(
            x=box.xmin * w, y=box.ymin * h, w=box.width * w, h=box.height * h, score=float(d.score[0]),
            right_eye=(kp[0].x * w, kp[0].y * h), left_eye=(kp[1].x * w, kp[1].y * h),
        ))
    return sorted(faces, key=lambda f: f.area, reverse=True)


def face_mesh(rgb: np.ndarray) -> np.ndarray | None:
    """468 face-mesh landmarks (x, y) in pixels of the largest face, or None if no face is found."""
    from mediapipe.python.solutions.face_mesh import FaceMesh

    h, w = rgb.shape[:2]
    with _lock, FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                         min_detection_confidence=0.3) as mesh:
        result = mesh.process(np.ascontiguousarray(rgb))
    if not result.multi_face_landmarks:
        return None
    lm = result.multi_face_landmarks[0].landmark
    return np.array([(p.x * w, p.y * h) for p in lm[:468]], dtype=np.float32)


def inner_lip_gap(points: np.ndarray) -> float:
    """Distance between the inner-lip midpoints, relative to mouth width (0 = closed)."""
    width = float(np.linalg.norm(points[MOUTH_RIGHT] - points[MOUTH_LEFT]))
    return float(np.linalg.norm(points[LOWER_LIP_MID] - points[UPPER_LIP_MID])) / max(width, 1e-6)
