"""Studio quality: the full SadTalker pipeline for offline renders (greetings, recorded messages).

As SadTalker's ``inference.py`` runs it, in its default ``crop`` mode, then pasted into the avatar's
face image:

1. the photo's 3DMM coefficients (exp 64 | angles 3 | translation 3) from the Deep3DFaceRecon regressor
   on the 256 px crop (:mod:`.framing`);
2. from speech (:mod:`.speech` mel windows): ExpNet's expression coefficients per frame, PoseVAE's head
   poses (pose style ``pose_style``, Savitzky-Golay smoothed);
3. the face renderer: canonical keypoints of the crop, the source keypoints posed by MappingNet on the
   photo's coefficients, per frame MappingNet on a 27-frame window of the driving coefficients, the
   dense motion and the SPADE generator (``make_animation``);
4. optionally a mouth refinement (Wav2Lip over the rendered frames) and a face enhancement
   (GFPGAN / Real-ESRGAN), given as callables by the caller;
5. :func:`encode_mp4` muxes the frames with the audio.

The networks arrive as :class:`StudioModels` (see :func:`load_studio_models`) so tests can hand in
reduced-width renderers with random weights; everything runs under ``torch.inference_mode``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from ai_pipeline.chunks import AudioChunk, FrameBatch
from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.settings import EncoderSettings
from ai_pipeline.talking_head.base import frame_bounds
from ai_pipeline.talking_head.prepare import PreparedFace
from ai_pipeline.talking_head.sadtalker import checkpoint as ckpt
from ai_pipeline.talking_head.sadtalker.audio2exp import EXP_DIM, predict_expressions
from ai_pipeline.talking_head.sadtalker.audio2pose import smooth_poses
from ai_pipeline.talking_head.sadtalker.motion import transform_keypoints
from ai_pipeline.talking_head.sadtalker.networks import RendererConfig
from ai_pipeline.talking_head.sadtalker.prepare import (
    crop_for_renderer,
    feather,
    photo_coefficients,
    source_keypoints,
    track_landmarks,
)
from ai_pipeline.talking_head.sadtalker.speech import FPS, blink_ratios, mel_windows

Progress = Callable[[float, str], None]
Refine = Callable[[np.ndarray, np.ndarray, AudioChunk], np.ndarray]  # frames, landmarks, audio -> frames
Enhance = Callable[[FrameBatch], FrameBatch]
SEMANTIC_RADIUS = 13  # MappingNet sees 2 * 13 + 1 frames of coefficients
COEFFS = 70
VRAM_MB = 4500  # renderer (~0.7 GB) + ExpNet/PoseVAE/ReconNet (~0.4 GB) + dense-motion volumes of a batch
DOWNLOAD = "python scripts/download_models.py --only sadtalker"


@dataclass
class StudioModels:
    """Every SadTalker network the studio pipeline runs."""

    renderer: ckpt.FaceRenderer
    coefficients: ckpt.CoefficientNetworks

    def to(self, device: str | torch.device) -> StudioModels:
        self.renderer.to(device)
        self.coefficients.to(device)
        return self


def studio_missing(folder: Path, size: int = 256) -> str | None:
    """A Russian sentence naming the missing SadTalker files, or None when the studio quality can run."""
    st = folder / ckpt.safetensors_name(size)
    renderer = (st.is_file() or (folder / ckpt.LEGACY).is_file()) and (folder / ckpt.MAPPING).is_file()
    speech = st.is_file() or all((folder / n).is_file() for n in (ckpt.LEGACY_EXP, ckpt.LEGACY_POSE, ckpt.LEGACY_RECON))
    if renderer and speech:
        return None
    return (f"Студийное качество недоступно: нет весов SadTalker в {folder} (нужны {ckpt.safetensors_name(size)} "
            f"и {ckpt.MAPPING}). Скачайте их: `{DOWNLOAD}`. Обычный рендер работает без них.")


def load_studio_models(folder: Path, size: int = 256, config: RendererConfig | None = None) -> StudioModels:
    """Load the renderer and the coefficient networks strictly from ``folder`` (CPU)."""
    missing = studio_missing(folder, size)
    if missing:
        raise EngineUnavailable(missing, f"SadTalker studio checkpoints missing in {folder}")
    return StudioModels(ckpt.load_renderer(folder, size, config), ckpt.load_coefficient_networks(folder, size))


@dataclass(frozen=True)
class StudioOptions:
    """How to animate: SadTalker's ``inference.py`` options that apply here."""

    size: int = 256  # the renderer's resolution (256 or 512 checkpoints)
    pose_style: int = 0  # 0..45, PoseVAE's head-motion style
    expression_scale: float = 1.0
    still: bool = False  # keep the photo's head pose (no PoseVAE motion)
    seed: int = 0  # PoseVAE's latent draws and the blink schedule
    batch: int = 4  # frames per renderer call


@dataclass(frozen=True)
class StudioClip:
    """Rendered frames (the avatar's face image, N frames at 25 fps) with exactly their audio."""

    frames: np.ndarray  # (N, S, S, 3) uint8 RGB
    landmarks: np.ndarray | None  # (N, 468, 2) face mesh of each frame, when measured
    audio: AudioChunk  # padded with silence to N / 25 s
    coefficients: np.ndarray  # (N, 70) the driving coefficients
    source_coefficients: np.ndarray  # (70,) the photo's
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> int:
        return FPS

    @property
    def duration(self) -> float:
        return len(self.frames) / FPS


def speech_coefficients(models: StudioModels, mels: np.ndarray, source: np.ndarray, options: StudioOptions
                        ) -> np.ndarray:
    """(N, 70) driving coefficients for N frames of mel windows: ExpNet expressions (scaled) and PoseVAE
    poses (smoothed; the photo's own with ``still``)."""
    nets = models.coefficients
    device = next(nets.expnet.parameters()).device
    n = len(mels)
    mel_t = torch.from_numpy(mels)[None].to(device)  # (1, N, 1, 80, 16)
    ref = torch.from_numpy(np.repeat(source[None, None], n, axis=1)).float().to(device)  # (1, N, 70)
    ratio = torch.from_numpy(blink_ratios(n, options.seed))[None].to(device)
    exp = predict_expressions(nets.expnet, mel_t, ref, ratio)[0].float().cpu().numpy() * options.expression_scale
    if options.still:
        pose = np.repeat(source[None, EXP_DIM:], n, axis=0)
    else:
        gen = torch.Generator().manual_seed(options.seed)
        pose_t = nets.posevae.predict(mel_t, ref, torch.tensor([options.pose_style], device=device), n,
                                      noise=lambda b, k: torch.randn(b, k, generator=gen).to(device))
        pose = pose_t.float().cpu().numpy()
        window = 13 if n >= 13 else (n - 1) // 2 * 2 + 1
        pose = (smooth_poses(pose, window, 2) if window > 2 else pose)[0]
    return np.concatenate([exp, pose], axis=1).astype(np.float32)


def semantic_windows(coeffs: np.ndarray, frames: range) -> np.ndarray:
    """(len(frames), 70, 27): for each frame the coefficients of the 27 frames around it, clamped."""
    offsets = np.arange(-SEMANTIC_RADIUS, SEMANTIC_RADIUS + 1)
    idx = np.clip(np.asarray(frames)[:, None] + offsets[None, :], 0, len(coeffs) - 1)
    return coeffs[idx].transpose(0, 2, 1).astype(np.float32)


def drive(models: StudioModels, volume: torch.Tensor, kp_canonical: torch.Tensor, kp_source: torch.Tensor,
          windows: torch.Tensor) -> torch.Tensor:
    """``make_animation``'s per-frame half for a batch of coefficient ``windows`` (B, 70, 27): MappingNet's
    driving pose and deltas, the keypoints, the generator -> (B, 3, S, S) in [0, 1]."""
    r, b = models.renderer, len(windows)
    kp_driving = transform_keypoints(kp_canonical.expand(b, -1, -1), r.mapping(windows))
    return r.generator(volume.expand(b, -1, -1, -1, -1), kp_driving, kp_source.expand(b, -1, -1))


def render_faces(models: StudioModels, crop: np.ndarray, source: np.ndarray, coeffs: np.ndarray, batch: int = 4
                 ) -> Iterator[np.ndarray]:
    """``make_animation``: batches of rendered crops (B, S, S, 3) uint8 for the driving ``coeffs`` (N, 70)."""
    r = models.renderer
    device = next(r.generator.parameters()).device
    src = torch.from_numpy(crop).permute(2, 0, 1)[None].float().div(255).to(device)
    window = torch.from_numpy(np.repeat(source[None, :, None], 2 * SEMANTIC_RADIUS + 1, axis=2)).float().to(device)
    kp_canonical, _, kp_source = source_keypoints(r, src, window)  # the photo's window: one vector repeated
    volume = r.generator.source_volume(src)
    for start in range(0, len(coeffs), batch):
        windows = torch.from_numpy(semantic_windows(coeffs, range(start, min(start + batch, len(coeffs)))))
        out = drive(models, volume, kp_canonical, kp_source, windows.to(device))
        yield out.float().clamp_(0, 1).mul_(255).round_().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def paste(image: np.ndarray, rendered: np.ndarray, box: tuple[int, int, int], weight: np.ndarray) -> np.ndarray:
    """``image`` with the rendered crop resized into the square ``box``, feathered at its edge."""
    left, top, side = box
    face = cv2.resize(rendered, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    out = image.copy()
    region = out[top:top + side, left:left + side].astype(np.float32)
    out[top:top + side, left:left + side] = np.clip(region + weight * (face - region) + 0.5, 0, 255).astype(np.uint8)
    return out


def render_studio(face: PreparedFace, audio: AudioChunk, models: StudioModels, options: StudioOptions | None = None,
                  *, refine: Refine | None = None, enhance: Enhance | None = None,
                  track: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                  progress: Progress | None = None) -> StudioClip:
    """The avatar speaking ``audio``: every stage of the studio pipeline, reporting progress per stage.

    ``track(frames, rest_landmarks)`` measures each frame's landmarks (needed by ``refine`` and
    ``enhance``; default the face mesh); ``refine`` redraws mouths, ``enhance`` restores faces."""
    opts = options or StudioOptions()
    report = progress or (lambda f, m: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    n, bounds = frame_bounds(len(audio.samples), audio.sample_rate, FPS)
    samples = np.zeros(bounds[-1], np.float32)
    samples[:len(audio.samples)] = audio.samples
    speech = AudioChunk(samples, audio.sample_rate)
    crop, points, box = crop_for_renderer(face, opts.size)
    side = box[2]
    with torch.inference_mode():
        report(0.0, "Студия: 3DMM-коэффициенты фото")
        source = photo_coefficients(models.coefficients.recon, crop, points)
        lap("face3d")
        report(0.05, "Студия: мимика и поворот головы по речи")
        coeffs = speech_coefficients(models, mel_windows(samples, audio.sample_rate, n), source, opts)
        lap("audio2coeff")
        weight = feather(side)
        frames = np.empty((n, *face.image.shape), np.uint8)
        done = 0
        for rendered in render_faces(models, crop, source, coeffs, opts.batch):
            for j in range(len(rendered)):
                frames[done + j] = paste(face.image, rendered[j], box, weight)
            done += len(rendered)
            report(0.1 + 0.65 * done / n, f"Студия: кадр {done} из {n}")
        lap("renderer")
    landmarks = None
    if refine is not None or enhance is not None:
        report(0.76, "Студия: разметка кадров")
        landmarks = (track or track_landmarks)(frames, face.landmarks)
        lap("landmarks")
    if refine is not None:
        report(0.8, "Студия: губы (Wav2Lip)")
        frames = refine(frames, landmarks, speech)
        lap("wav2lip")
    if enhance is not None:
        step = 8
        for start in range(0, n, step):
            stop = min(start + step, n)
            report(0.85 + 0.13 * start / n, f"Студия: улучшение лица, кадр {stop} из {n}")
            batch = FrameBatch(frames[start:stop], samples[bounds[start]:bounds[stop]], audio.sample_rate, FPS,
                               start, final=stop == n, landmarks=landmarks[start:stop])
            frames[start:stop] = enhance(batch).frames
        lap("enhance")
    report(0.99, "Студия: кадры готовы")
    return StudioClip(frames, landmarks, speech, coeffs, source, timings)


def encode_mp4(clip: StudioClip, encoder_settings: EncoderSettings, batch: int = 25) -> bytes:
    """The clip as one MP4 (H.264 + AAC)."""
    from ai_pipeline.encode.mp4 import Mp4Encoder

    n, size = len(clip.frames), clip.frames.shape[1]
    rate = clip.audio.sample_rate
    _, bounds = frame_bounds(len(clip.audio.samples), rate, FPS)
    encoder = Mp4Encoder(encoder_settings, width=size, height=size, fps=FPS, sample_rate=rate)
    try:
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            encoder.add(FrameBatch(clip.frames[start:stop], clip.audio.samples[bounds[start]:bounds[stop]], rate, FPS,
                                   start, final=stop == n))
        return encoder.finish()
    finally:
        encoder.close()
