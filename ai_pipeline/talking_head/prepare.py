"""Once-per-photo preparation: find the face, align and crop it, measure its landmarks, cache it.

The result (:class:`PreparedFace`) is engine-independent: every talking-head engine starts from the
same aligned square crop and 468 landmarks. It is cached under ``<avatars_dir>/<photo hash>/`` so a
photo is analysed once, however many clips are rendered from it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ai_pipeline.errors import FaceNotFound, InputError
from ai_pipeline.media.image_io import DEFAULT_MAX_PIXELS, encode_png, load_image
from ai_pipeline.talking_head.landmarks import FaceBox, detect_faces, face_mesh

PREPARE_VERSION = 1
CROP_SCALE = 2.3  # crop side relative to the detected face box height


@dataclass(frozen=True)
class PreparedFace:
    """An aligned square face crop, its landmarks and what preparation noticed."""

    avatar_id: str
    image: np.ndarray  # (size, size, 3) uint8 RGB
    landmarks: np.ndarray  # (468, 2) float32 pixel coordinates in ``image``
    face_px: int  # face box height in the original photo
    warnings: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


def photo_id(data: bytes, size: int) -> str:
    return hashlib.sha256(data + f"|{size}|{PREPARE_VERSION}".encode()).hexdigest()[:16]


def _choose_face(faces: list[FaceBox], min_face_px: int) -> tuple[FaceBox, list[str]]:
    if not faces:
        raise FaceNotFound("На фото не найдено лицо. Нужна фотография, где лицо хорошо видно анфас.",
                           "No face found in the photo.")
    warnings = []
    if len(faces) > 1:
        warnings.append(f"На фото несколько лиц ({len(faces)}): выбрано самое крупное.")
    face = faces[0]
    if min(face.w, face.h) < min_face_px:
        raise InputError(
            f"Лицо на фото слишком маленькое ({int(face.h)} пикс., нужно не меньше {min_face_px}). "
            "Возьмите фото крупнее.", f"Face too small: {int(face.h)} px < {min_face_px} px.",
            code="face_too_small")
    return face, warnings


def _align_matrix(face: FaceBox, size: int) -> np.ndarray:
    """Similarity transform: level the eyes, centre the face, scale the crop to ``size``."""
    (rx, ry), (lx, ly) = face.right_eye, face.left_eye
    angle = math.degrees(math.atan2(ly - ry, lx - rx))
    cx, cy = face.center
    cy += 0.08 * face.h  # leave a little more room for chin and neck than for hair
    scale = size / (CROP_SCALE * max(face.h, face.w))
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[:, 2] += (size / 2 - cx, size / 2 - cy)
    return m


def prepare_face(photo: bytes, *, size: int = 512, min_face_px: int = 64,
                 cache_dir: Path | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> PreparedFace:
    """Detect, align and crop the largest face of ``photo`` (cached in ``cache_dir`` if given);
    a photo that would decode to more than ``max_pixels`` of RGB is refused from its header."""
    avatar_id = photo_id(photo, size)
    folder = cache_dir / avatar_id if cache_dir else None
    if folder and (folder / "meta.json").is_file():
        cached = _load_cached(folder, avatar_id)
        if cached is not None:
            return cached

    rgb = load_image(photo, max_pixels)
    scale = min(1.0, 1600 / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    faces = [FaceBox(f.x / scale, f.y / scale, f.w / scale, f.h / scale, f.score,
                     (f.right_eye[0] / scale, f.right_eye[1] / scale),
                     (f.left_eye[0] / scale, f.left_eye[1] / scale)) for f in detect_faces(small)]
    face, warnings = _choose_face(faces, min_face_px)
    crop = cv2.warpAffine(rgb, _align_matrix(face, size), (size, size), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)
    points = face_mesh(crop)
    if points is None:
        raise FaceNotFound("Лицо найдено, но разметить его не удалось: нужна фотография анфас, без сильного "
                           "поворота головы.", "Face mesh failed on the aligned crop.")
    prepared = PreparedFace(avatar_id, crop, points, int(face.h), tuple(warnings))
    if folder:
        _save_cached(folder, prepared, photo)
    return prepared


def _write(path: Path, data: bytes) -> None:
    """Write then rename, so a concurrent reader (another request, a render worker) never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _save_cached(folder: Path, face: PreparedFace, photo: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "photo.bin", photo)
    _write(folder / "crop.png", encode_png(face.image))
    buf = io.BytesIO()
    np.save(buf, face.landmarks)
    _write(folder / "landmarks.npy", buf.getvalue())
    meta = {"version": PREPARE_VERSION, "face_px": face.face_px, "warnings": list(face.warnings)}
    _write(folder / "meta.json", json.dumps(meta, ensure_ascii=False, indent=1).encode())  # last: marks complete


def _load_cached(folder: Path, avatar_id: str) -> PreparedFace | None:
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("version") != PREPARE_VERSION:
            return None
        image = load_image(folder / "crop.png")
        points = np.load(folder / "landmarks.npy").astype(np.float32)
    except (OSError, ValueError, InputError):
        return None
    return PreparedFace(avatar_id, image, points, int(meta["face_px"]), tuple(meta.get("warnings", [])))
