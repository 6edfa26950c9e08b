"""Wav2Lip engine: the avatar's base loop with the mouth redrawn for the audio, batch by batch.

Per frame ``n``: base frame ``loop.index(n)`` (ping-pong, a pure function of ``n``), its face box
from that frame's landmarks (no face detector at run time), the 96x96 crop with its lower half
masked plus the crop itself as reference, and the 16-step mel window that starts at the frame. The
generator redraws the lower face; a feathered mask pastes back only the mouth and jaw, so eyes,
blinks and head motion are the base loop's. The avatar's look (the clip's emotion, thinking,
listening) is warped onto each base frame first (``expression.py``), so brows, lids, cheeks and gaze
show it and the generator sees it in its reference crop. Weights live in the shared GPU budget
(:mod:`ai_pipeline.gpu`): loaded lazily, unloaded when another engine needs the room.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ai_pipeline.chunks import AudioChunk, FrameBatch
from ai_pipeline.engine import EngineInfo, EngineSettings, cuda_missing, missing_file, missing_package, under_models
from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.gpu import gpu_manager, resolve_device
from ai_pipeline.media.image_io import DEFAULT_MAX_PIXELS
from ai_pipeline.talking_head.base import Avatar, TalkingHeadEngine, frame_bounds
from ai_pipeline.talking_head.mesh_warp import MeshWarpSettings
from ai_pipeline.talking_head.expressions import Look
from ai_pipeline.talking_head.prepare import PreparedFace, prepare_face
from ai_pipeline.talking_head.wav2lip.base_loop import BaseLoop, loop_path, mesh_warp_loop, mouth_boxes
from ai_pipeline.talking_head.wav2lip.expression import ExpressionWarp

# torch (wav2lip.net) and scipy.signal (wav2lip.audio) are imported where the engine loads and renders.

log = logging.getLogger(__name__)
DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[3] / "data" / "models"  # Settings().models_dir's default
FACE_SIZE = 96  # the generator's crop side (wav2lip.net.FACE_SIZE)
VRAM_MB = 700  # 145 MB fp32 weights + activations of a 32-frame batch + margin
DOWNLOAD = "python scripts/download_models.py --only wav2lip"


def paste_mask(size: int = FACE_SIZE) -> np.ndarray:
    """(size, size) float32 weights of the generated crop kept in the frame: the mouth and jaw, with
    soft edges, zero on the crop border and over the upper half (eyes, nose bridge)."""
    mask = np.zeros((size, size), np.float32)
    s = size / 96
    cv2.ellipse(mask, (int(48 * s), int(70 * s)), (int(36 * s), int(22 * s)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 5 * s)
    rows = np.clip((np.arange(size) - 50 * s) / (6 * s), 0, 1).astype(np.float32)
    mask *= (rows * rows * (3 - 2 * rows))[:, None]
    mask[[0, -1], :] = 0
    mask[:, [0, -1]] = 0
    return mask


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 arithmetic (AVX512-BF16 or AMX; read from /proc/cpuinfo on Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


@dataclass
class _LoopState:
    loop: BaseLoop
    boxes: np.ndarray  # (N, 4) x0, y0, x1, y1 per base frame
    expression: ExpressionWarp


class Wav2LipSettings(EngineSettings):
    """Wav2Lip mouths over the avatar's base loop (SadTalker-made when prepared, else mesh_warp).

    Relative paths are under ``models_dir``. ``base_loop``: ``auto`` uses a cached SadTalker loop when
    the avatar has one, else the mesh_warp loop; ``sadtalker`` makes the SadTalker loop at preparation
    (slow, once per photo) from the checkpoints in ``sadtalker_dir``.
    """

    engine: Literal["wav2lip"] = "wav2lip"
    checkpoint: Path = Path("wav2lip/wav2lip_gan.pth")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: fp16 on CUDA; on CPU bf16 if native, else fp32
    batch_size: int = Field(16, ge=1, le=128)  # frames per generator call (and per FrameBatch)
    size: int = Field(512, ge=128, le=1024)
    fps: int = Field(25, ge=10, le=60)
    base_loop: Literal["auto", "sadtalker", "mesh_warp"] = "auto"
    base_loop_seconds: float = Field(4.0, ge=0.5, le=30.0)
    sadtalker_dir: Path = Path("sadtalker")
    sadtalker_size: Literal[256, 512] = 256
    blink_interval_s: float = Field(3.5, gt=0.5)
    head_motion: float = Field(1.0, ge=0.0, le=3.0)
    seed: int = 0


class Wav2LipEngine(TalkingHeadEngine):
    """Lip-sync over the base loop with the published Wav2Lip generator (``wav2lip_gan.pth``)."""

    name = "wav2lip"
    settings_class = Wav2LipSettings
    info = EngineInfo(label_ru="Wav2Lip (точные губы, видеокарта)", heavy=True, fallback="mesh_warp", vram_mb=VRAM_MB)

    def __init__(self, settings: Wav2LipSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir if models_dir is not None else DEFAULT_MODELS_DIR)
        self.net = None
        self.device = "cpu"
        self._slot = None
        self._mask = paste_mask()

    # -- paths and loading ------------------------------------------------------------------

    @classmethod
    def availability(cls, settings: Wav2LipSettings, models_dir: Path) -> str | None:
        return (missing_package("torch")
                or missing_file(under_models(settings.checkpoint, models_dir), DOWNLOAD)
                or cuda_missing(settings.device))

    def _under_models(self, path: Path) -> Path:
        return path if path.is_absolute() else self.models_dir / path

    @property
    def checkpoint(self) -> Path:
        return self._under_models(self.settings.checkpoint)

    @property
    def sadtalker_dir(self) -> Path:
        return self._under_models(self.settings.sadtalker_dir)

    def load(self) -> None:
        if not self.checkpoint.is_file():
            raise EngineUnavailable(
                f"Нет весов Wav2Lip ({self.checkpoint}): скачайте их командой `{DOWNLOAD}`.",
                f"Wav2Lip checkpoint not found: {self.checkpoint}")
        manager = gpu_manager()
        self.device = manager.device if self.settings.device == "auto" else resolve_device(self.settings.device)
        try:
            self._slot = manager.register(self.name, self, estimate_mb=self.info.vram_mb)
        except ValueError:  # another instance (a second pipeline in this process) holds the name
            self._slot = manager.register(f"{self.name}-{id(self):x}", self, estimate_mb=self.info.vram_mb)
        with self._slot.use():  # load now: a broken file falls back at start-up, not mid-turn
            pass

    def gpu_load(self) -> None:
        from ai_pipeline.talking_head.wav2lip.net import load_wav2lip

        try:
            self.net = load_wav2lip(self.checkpoint, self.device)
        except (RuntimeError, ValueError, KeyError, EOFError) as exc:
            raise EngineUnavailable(f"Файл весов Wav2Lip повреждён или не подходит: {self.checkpoint.name}.",
                                    f"cannot load {self.checkpoint}: {exc}") from exc

    def gpu_unload(self) -> None:
        self.net = None

    def close(self) -> None:
        if self._slot is not None:
            gpu_manager().unregister(self._slot.name)
            self._slot = None
        self.net = None

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "checkpoint": self.checkpoint.name, "device": self.device,
                "precision": self._precision(), "base_loop": self.settings.base_loop}

    # -- preparation --------------------------------------------------------------------------

    def prepare(self, photo: bytes, *, cache_dir: Path | None = None, min_face_px: int = 64,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> Avatar:
        face = prepare_face(photo, size=self.size, min_face_px=min_face_px, cache_dir=cache_dir,
                            max_pixels=max_pixels)
        folder = cache_dir / face.avatar_id if cache_dir else None
        return Avatar(face, self._state(face, folder))

    def build_state(self, face: PreparedFace) -> _LoopState:
        return self._state(face, None)

    def _state(self, face: PreparedFace, folder: Path | None) -> _LoopState:
        return self.avatar_over(face, self.base_loop(face, folder)).state

    @staticmethod
    def avatar_over(face: PreparedFace, loop: BaseLoop) -> Avatar:
        """The avatar whose mouths are drawn over ``loop``'s frames (e.g. frames rendered elsewhere)."""
        return Avatar(face, _LoopState(loop, mouth_boxes(loop.landmarks, face.size), ExpressionWarp(face)))

    def base_loop(self, face: PreparedFace, folder: Path | None) -> BaseLoop:
        """The SadTalker loop when cached (or when asked for: made now), else the mesh_warp loop."""
        s = self.settings
        n_frames = max(2, int(round(s.base_loop_seconds * s.fps)))
        if folder is not None and s.base_loop in ("auto", "sadtalker"):
            cached = BaseLoop.load(loop_path(folder, "sadtalker"))
            if cached is not None and cached.frames.shape[1] == face.size and cached.fps == s.fps:
                return cached
            if s.base_loop == "sadtalker":
                from ai_pipeline.talking_head.sadtalker.prepare import make_base_loop

                return make_base_loop(face, folder, self.sadtalker_dir, n_frames=n_frames, fps=s.fps,
                                      size=s.sadtalker_size, seed=s.seed, head_motion=s.head_motion,
                                      blink_interval_s=s.blink_interval_s, device=s.device,
                                      progress=lambda f, m: log.info("%s (%.0f%%)", m, 100 * f))
        warp = MeshWarpSettings(size=face.size, fps=s.fps, blink_interval_s=s.blink_interval_s,
                                head_motion=s.head_motion, seed=s.seed)
        return mesh_warp_loop(face, n_frames, warp)

    # -- rendering ----------------------------------------------------------------------------

    def _precision(self) -> str:
        p = self.settings.precision
        if p == "auto":
            if self.device.startswith("cuda"):
                return "fp16"
            # bf16 autocast is ~2x fp32 where the CPU computes bf16 in hardware, ~10x slower where emulated
            return "bf16" if cpu_has_native_bf16() else "fp32"
        return p

    def _autocast(self) -> contextlib.AbstractContextManager:
        import torch

        p = self._precision()
        if p == "fp32":
            return contextlib.nullcontext()
        kind = "cuda" if self.device.startswith("cuda") else "cpu"
        return torch.autocast(kind, dtype=torch.bfloat16 if p == "bf16" else torch.float16)

    def generate(self, mels: np.ndarray, crops: np.ndarray) -> np.ndarray:
        """Generator on a batch: mels (B, 1, 80, 16), crops (B, 96, 96, 3) uint8 BGR -> (B, 96, 96, 3) uint8 BGR."""
        import torch

        assert self._slot is not None, "Wav2LipEngine.load() first"
        faces = crops.astype(np.float32) / 255.0
        masked = faces.copy()
        masked[:, FACE_SIZE // 2:] = 0.0
        x = np.concatenate([masked, faces], axis=3).transpose(0, 3, 1, 2)
        with self._slot.use(), torch.inference_mode(), self._autocast():
            mel_t = torch.from_numpy(np.ascontiguousarray(mels)).to(self.device)
            face_t = torch.from_numpy(np.ascontiguousarray(x)).to(self.device)
            out = self.net(mel_t, face_t).float().clamp_(0, 1).mul_(255).round_()
            return out.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    def render(self, avatar: Avatar, audio: AudioChunk, first_frame: int = 0) -> Iterator[FrameBatch]:
        st: _LoopState = avatar.state
        rate, fps = audio.sample_rate, self.fps
        n_frames, bounds = frame_bounds(len(audio.samples), rate, fps)
        samples = np.zeros(bounds[-1], np.float32)
        samples[: len(audio.samples)] = audio.samples
        from ai_pipeline.talking_head.wav2lip.audio import mel_windows  # scipy.signal

        mels = mel_windows(samples, rate, fps, n_frames)
        look = avatar.look_for(audio)
        step = self.settings.batch_size
        for start in range(0, n_frames, step):
            stop = min(start + step, n_frames)
            numbers = range(first_frame + start, first_frame + stop)
            frames = self._lip_sync(st, numbers, mels[start:stop], look)
            yield FrameBatch(frames, samples[bounds[start]:bounds[stop]], rate, fps, first_frame + start,
                             final=stop == n_frames, landmarks=self._landmarks(st, numbers))

    def idle(self, avatar: Avatar, seconds: float, sample_rate: int, first_frame: int = 0) -> Iterator[FrameBatch]:
        """Listening: the base loop itself (mouth closed as in the photo), no generator call."""
        st: _LoopState = avatar.state
        n_frames, bounds = frame_bounds(int(round(seconds * sample_rate)), sample_rate, self.fps)
        silence = np.zeros(bounds[-1], np.float32)
        step = self.settings.batch_size
        for start in range(0, n_frames, step):
            stop = min(start + step, n_frames)
            numbers = range(first_frame + start, first_frame + stop)
            frames = np.stack([st.loop.frames[st.loop.index(n)] for n in numbers])
            st.expression.apply(frames, numbers, self._landmarks(st, numbers), avatar.look or Look(), self.fps)
            yield FrameBatch(frames, silence[bounds[start]:bounds[stop]], sample_rate, self.fps, first_frame + start,
                             final=stop == n_frames, landmarks=self._landmarks(st, numbers))

    @staticmethod
    def _landmarks(st: _LoopState, frame_numbers: range) -> np.ndarray:
        """The base loop's landmarks of these frames (the mouth is redrawn, the face does not move)."""
        return st.loop.landmarks[[st.loop.index(n) for n in frame_numbers]].astype(np.float32)

    def _lip_sync(self, st: _LoopState, frame_numbers: range, mels: np.ndarray, look: Look) -> np.ndarray:
        loop = st.loop
        idx = [loop.index(n) for n in frame_numbers]
        frames = loop.frames[idx].copy()
        st.expression.apply(frames, frame_numbers, loop.landmarks[idx], look, self.fps)
        crops = np.empty((len(idx), FACE_SIZE, FACE_SIZE, 3), np.uint8)
        for j, b in enumerate(idx):
            x0, y0, x1, y1 = st.boxes[b]
            crop = cv2.resize(frames[j, y0:y1, x0:x1], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
            crops[j] = crop[..., ::-1]  # the network was trained on BGR (OpenCV) frames
        generated = self.generate(mels, crops)
        for j, b in enumerate(idx):
            x0, y0, x1, y1 = st.boxes[b]
            size = (x1 - x0, y1 - y0)
            face = cv2.resize(generated[j, ..., ::-1], size, interpolation=cv2.INTER_CUBIC).astype(np.float32)
            weight = cv2.resize(self._mask, size, interpolation=cv2.INTER_LINEAR)[..., None]
            region = frames[j, y0:y1, x0:x1].astype(np.float32)
            frames[j, y0:y1, x0:x1] = np.clip(region + weight * (face - region) + 0.5, 0, 255).astype(np.uint8)
        return frames
