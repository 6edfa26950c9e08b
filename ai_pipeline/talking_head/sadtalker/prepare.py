"""The SadTalker prepare step: an avatar's base loop rendered from the photo, once, offline.

SadTalker animates a photo in two halves: audio -> 3DMM coefficients (ExpNet, PoseVAE, plus the
Deep3DFaceRecon network that reads the photo's own coefficients) and coefficients -> video (the face
renderer). An idle base loop needs no audio, so only the renderer and the photo's regressor are used
here (the whole pipeline, for offline renders from speech, is :mod:`.studio`):

1. the 256 px crop framed as SadTalker's cropper frames it (:func:`.framing.crop_box`);
2. the photo's 3DMM coefficients (expression, angles, translation) from the Deep3DFaceRecon regressor
   when its weights are present, else zeros (the 3DMM mean: a frontal, neutral face);
3. canonical keypoints of the crop (KPDetector) and the source pose/translation/deltas from MappingNet
   on those coefficients; the source keypoints are posed with MappingNet's angles, as upstream's
   ``make_animation`` poses them;
4. per frame, the same deltas with MappingNet's angles plus our own idle sway (``motion.idle_pose``),
   keypoints transformed, the source volume warped and decoded by the SPADE generator;
5. pasted back into the 512 px crop with a feathered edge; blinks drawn by our eyelid painter from
   our blink schedule over the landmarks of each frame (the 3DMM blink lives in ExpNet's
   coefficients, which an idle loop does not have);
6. saved as ``<avatar folder>/base_loop_sadtalker.npz``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ai_pipeline.talking_head.eyelids import Eyelids
from ai_pipeline.talking_head.motion import BlinkSchedule
from ai_pipeline.talking_head.prepare import PreparedFace
from ai_pipeline.talking_head.sadtalker.framing import crop_box, recon_input
from ai_pipeline.talking_head.sadtalker.networks import RendererConfig
from ai_pipeline.talking_head.wav2lip.base_loop import BaseLoop, Progress, loop_path

log = logging.getLogger(__name__)
SEMANTIC_WINDOW = 27  # frames of coefficients MappingNet looks at (SadTalker's semantic_radius 13)
VRAM_MB = 3500  # 256 px renderer, one frame per call: weights ~0.7 GB + the dense-motion volumes


def feather(side: int, margin: float = 0.12) -> np.ndarray:
    """(side, side, 1) weights: 1 inside, smooth fall to 0 over the outer ``margin`` of the square."""
    ramp = np.clip(np.minimum(np.arange(side), np.arange(side)[::-1]) / max(margin * side, 1.0), 0, 1)
    ramp = ramp * ramp * (3 - 2 * ramp)
    return (ramp[:, None] * ramp[None, :])[..., None].astype(np.float32)


def photo_coefficients(recon: Any, crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The photo's 70 SadTalker coefficients (exp 64 | angles 3 | translation 3) from the Deep3DFaceRecon
    regressor, given the renderer's crop and its landmarks (in crop pixels)."""
    import torch

    from ai_pipeline.talking_head.sadtalker.face3d import sadtalker_coefficients

    device = next(recon.parameters()).device
    window = torch.from_numpy(recon_input(crop, points)).permute(2, 0, 1)[None].float().div(255).to(device)
    with torch.inference_mode():
        return sadtalker_coefficients(recon(window))[0].float().cpu().numpy()


def source_keypoints(renderer: Any, image: Any, window: Any) -> tuple[Any, dict[str, Any], Any]:
    """``make_animation``'s source half: canonical keypoints of ``image`` (1, 3, S, S), MappingNet on the
    photo's coefficient ``window`` (1, 70, 27), and the source keypoints posed with MappingNet's angles,
    translation and deltas (not at 0/0/0)."""
    from ai_pipeline.talking_head.sadtalker.motion import transform_keypoints

    kp_canonical = renderer.kp_detector(image)
    he = renderer.mapping(window)
    return kp_canonical, he, transform_keypoints(kp_canonical, he)


def crop_for_renderer(face: PreparedFace, size: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """The renderer's ``size`` px crop of the face image, the landmarks in its pixels, and its box."""
    left, top, side = box = crop_box(face.landmarks, face.size)
    crop = cv2.resize(face.image[top:top + side, left:left + side], (size, size), interpolation=cv2.INTER_AREA)
    return crop, (face.landmarks - np.array([left, top], np.float32)) * (size / side), box


class _RendererSlot:
    """The renderer (and the photo's 3DMM regressor, when its weights are there) as a
    :class:`ai_pipeline.gpu.GpuModel`, loaded for the prepare, then released."""

    def __init__(self, folder: Path, size: int, config: RendererConfig, device: str) -> None:
        self.folder, self.size, self.config, self.device = folder, size, config, device
        self.renderer: Any = None
        self.recon: Any = None

    def gpu_load(self) -> None:
        from ai_pipeline.errors import EngineUnavailable
        from ai_pipeline.talking_head.sadtalker.checkpoint import load_coefficient_networks, load_renderer

        self.renderer = load_renderer(self.folder, self.size, self.config).to(self.device)
        try:
            self.recon = load_coefficient_networks(self.folder, self.size).recon.to(self.device).eval()
        except EngineUnavailable as exc:
            log.info("no 3DMM regressor, the photo is taken as frontal and neutral: %s", exc.message_en)
            self.recon = None

    def gpu_unload(self) -> None:
        self.renderer = self.recon = None


def make_base_loop(face: PreparedFace, folder: Path | None, checkpoint_dir: Path, *, n_frames: int, fps: int,
                   size: int = 256, seed: int = 0, head_motion: float = 1.0, blink_interval_s: float = 3.5,
                   device: str = "auto", config: RendererConfig | None = None,
                   progress: Progress | None = None) -> BaseLoop:
    """Render, cache (in ``folder`` when given) and return the avatar's SadTalker base loop."""
    import torch

    from ai_pipeline.gpu import gpu_manager, resolve_device
    from ai_pipeline.talking_head.sadtalker.motion import bins_to_degrees, idle_pose, transform_keypoints

    report = progress or (lambda f, m: None)
    report(0.0, "SadTalker: загрузка модели")
    manager = gpu_manager()
    dev = manager.device if device == "auto" else resolve_device(device)
    holder = _RendererSlot(checkpoint_dir, size, config or RendererConfig(), dev)
    slot = manager.register("sadtalker", holder, estimate_mb=VRAM_MB)
    crop, points, (left, top, side) = crop_for_renderer(face, size)
    weight = feather(side)
    frames = np.repeat(face.image[None], n_frames, axis=0)
    try:
        with slot.use(), torch.inference_mode():
            r = holder.renderer
            assert r is not None
            src = torch.from_numpy(crop).permute(2, 0, 1)[None].float().div(255).to(dev)
            coeffs = np.zeros(r.config.coeff_nc, np.float32)
            if holder.recon is not None:
                coeffs = photo_coefficients(holder.recon, crop, points)
            window = torch.from_numpy(coeffs).to(dev)[None, :, None].expand(1, -1, SEMANTIC_WINDOW).contiguous()
            kp_canonical, he, kp_source = source_keypoints(r, src, window)
            angles = [bins_to_degrees(he[k]) for k in ("yaw", "pitch", "roll")]
            volume = r.generator.source_volume(src)
            for i in range(n_frames):
                sway = idle_pose(i, fps, head_motion, seed)
                kp_driving = transform_keypoints(kp_canonical, he, *(a + d for a, d in zip(angles, sway)))
                out = r.generator(volume, kp_driving, kp_source)[0].permute(1, 2, 0).float().cpu().numpy()
                rendered = cv2.resize(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8), (side, side),
                                      interpolation=cv2.INTER_CUBIC).astype(np.float32)
                region = frames[i, top:top + side, left:left + side].astype(np.float32)
                frames[i, top:top + side, left:left + side] = np.clip(region + weight * (rendered - region) + 0.5,
                                                                      0, 255).astype(np.uint8)
                report(0.05 + 0.8 * (i + 1) / n_frames, f"SadTalker: кадр {i + 1} из {n_frames}")
    finally:
        manager.unregister("sadtalker")
    points = track_landmarks(frames, face.landmarks)
    report(0.9, "SadTalker: моргание")
    blinks, eyelids = BlinkSchedule(fps, blink_interval_s, seed), Eyelids(face.image, face.landmarks)
    for i in range(n_frames):
        eyelids.paint(frames[i], blinks.amount(i), points[i] - face.landmarks)
    loop = BaseLoop(frames, points, fps, "sadtalker")
    if folder is not None:
        loop.save(loop_path(folder, "sadtalker"))
    report(1.0, "SadTalker: базовый цикл готов")
    return loop


def track_landmarks(frames: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Landmarks of each rendered frame (face mesh); a frame where the mesh fails or jumps implausibly
    far from the photo's landmarks keeps the previous frame's."""
    from ai_pipeline.talking_head.landmarks import face_mesh

    scale = float(np.ptp(rest[:, 0]))
    points = np.empty((len(frames), *rest.shape), np.float32)
    last = rest
    for i, frame in enumerate(frames):
        found = face_mesh(frame)
        if found is not None and float(np.linalg.norm(found - rest, axis=1).mean()) < 0.15 * scale:
            last = found
        points[i] = last
    return points
