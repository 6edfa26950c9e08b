"""GFPGAN v1.4 face restoration on the face region, from the published checkpoint on disk.

The face is cut out in the FFHQ framing GFPGAN was trained on (five landmarks - eyes, nose tip,
mouth corners - placed on the standard 512x512 template), restored, and blended back. Prepared
avatars are already eye-levelled, so that framing is an axis-aligned square of the frame and the
base class's crop/paste applies unchanged. The network (``gfpgan_arch.py``) is written here; no
``gfpgan``/``basicsr``/``facexlib`` package is used and nothing is downloaded at run time.

On CUDA the engine registers with the shared VRAM budget and loads lazily; on a CPU it loads at once.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import Field

from ai_pipeline.engine import EngineInfo, EngineSettings, cuda_missing, missing_file, missing_package, under_models
from ai_pipeline.enhance.base import EnhanceEngine
from ai_pipeline.enhance.region import FaceRegion, feather_mask
from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.talking_head.landmarks import LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER

# The five FFHQ landmarks on a 512x512 face (image-left eye, image-right eye, nose tip, mouth corners),
# as used by GFPGAN's face helper.
FFHQ_TEMPLATE = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935],
                          [201.26117, 371.41043], [313.08905, 371.15118]], np.float32)
NOSE_TIP, MOUTH_LEFT, MOUTH_RIGHT = 1, 61, 291
VRAM_ESTIMATE_MB = 1200
DOWNLOAD = "python scripts/download_models.py --only gfpgan-v1.4"


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """The FFHQ five points from the 468-point face mesh, in the template's order."""
    eye_a = landmarks[list(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER)].mean(axis=0)  # the subject's right: image left
    eye_b = landmarks[list(LEFT_EYE_UPPER + LEFT_EYE_LOWER)].mean(axis=0)
    points = [eye_a, eye_b, landmarks[NOSE_TIP], landmarks[MOUTH_LEFT], landmarks[MOUTH_RIGHT]]
    return np.stack(points).astype(np.float32)


def ffhq_box(landmarks: np.ndarray, frame_hw: tuple[int, int]) -> tuple[int, int, int]:
    """(x, y, side) of the square that frames the face as FFHQ does, kept inside the frame."""
    matrix, _ = cv2.estimateAffinePartial2D(five_points(landmarks), FFHQ_TEMPLATE, method=cv2.LMEDS)
    if matrix is None:
        raise EngineUnavailable("Не удалось выровнять лицо для GFPGAN.", "FFHQ alignment failed")
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))  # template pixels per frame pixel
    centre = cv2.invertAffineTransform(matrix) @ np.array([256.0, 256.0, 1.0])
    h, w = frame_hw
    side = int(min(round(512 / scale), h, w))
    x = int(np.clip(round(centre[0] - side / 2), 0, w - side))
    y = int(np.clip(round(centre[1] - side / 2), 0, h - side))
    return x, y, side


class GfpganSettings(EngineSettings):
    """GFPGAN v1.4 face restoration from a local checkpoint (``scripts/download_models.py --only gfpgan-v1.4``).

    A GPU engine (~8 s per frame on a CPU): for renders and GPU machines, not the CPU real-time path.
    """

    engine: Literal["gfpgan"] = "gfpgan"
    checkpoint: Path = Path("enhance/GFPGANv1.4.pth")  # under models_dir, or an absolute path
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: the GPU of gpu.device when there is one
    precision: Literal["auto", "fp32", "fp16"] = "auto"  # auto: fp16 on CUDA
    batch_size: int = Field(8, ge=1, le=64)
    strength: float = Field(0.7, ge=0.0, le=1.0)  # blend of the restored face over the original
    feather: float = Field(0.12, ge=0.0, le=0.5)


class GfpganEngine(EnhanceEngine):
    """GFPGANv1Clean (v1.3/v1.4 checkpoints) on the FFHQ-framed face."""

    name = "gfpgan"
    settings_class = GfpganSettings
    info = EngineInfo(label_ru="GFPGAN (восстановление лица, видеокарта)", heavy=True, vram_mb=VRAM_ESTIMATE_MB)

    def __init__(self, settings: GfpganSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        self.path: Path | None = None
        self.device = "cpu"
        self.half = False
        self._net: Any = None
        self._slot: Any = None

    @classmethod
    def availability(cls, settings: GfpganSettings, models_dir: Path) -> str | None:
        return (missing_package("torch") or missing_file(under_models(settings.checkpoint, models_dir), DOWNLOAD)
                or cuda_missing(settings.device))

    def load(self) -> None:
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailable("Для GFPGAN нужен PyTorch (scripts/setup.sh ставит его).",
                                    f"torch is not installed: {exc}") from exc
        from ai_pipeline.gpu import engine_device

        path = Path(self.settings.checkpoint)
        self.path = path if path.is_absolute() or self.models_dir is None else Path(self.models_dir) / path
        if not self.path.is_file():
            raise EngineUnavailable(
                f"Нет весов GFPGAN ({self.path}). Скачайте их: {DOWNLOAD}",
                f"GFPGAN checkpoint not found: {self.path}")
        self.device = engine_device(self.settings.device)
        self.half = self.device != "cpu" and self.settings.precision in ("auto", "fp16")
        if self.device == "cpu":
            self.gpu_load()
        else:
            self._slot = self.register_gpu(self.name, VRAM_ESTIMATE_MB)

    def gpu_load(self) -> None:
        import torch

        from ai_pipeline.enhance.gfpgan_arch import GFPGANv1Clean

        assert self.path is not None
        checkpoint = torch.load(self.path, map_location="cpu", weights_only=True)
        state = checkpoint.get("params_ema") or checkpoint.get("params") or checkpoint
        try:
            net = GFPGANv1Clean.from_state_dict(state)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise EngineUnavailable("Файл весов GFPGAN не подходит (ожидается GFPGANv1.3/1.4).",
                                    f"{self.path}: {exc}") from exc
        net = net.eval().to(self.device)
        self._net = net.half() if self.half else net

    def gpu_unload(self) -> None:
        self._net = None

    def close(self) -> None:
        self.unregister_gpu(self._slot)
        self._slot = None
        self._net = None

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "checkpoint": str(self.path), "device": self.device,
                "precision": "fp16" if self.half else "fp32", "strength": self.settings.strength}

    def region_for(self, landmarks: np.ndarray, frame_hw: tuple[int, int]) -> FaceRegion:
        x, y, side = ffhq_box(landmarks, frame_hw)
        return FaceRegion(x, y, side, feather_mask(side, self.settings.feather))

    def restore(self, crop: np.ndarray) -> np.ndarray:
        return self.restore_many(crop[None])[0]

    def restore_many(self, crops: np.ndarray) -> np.ndarray:
        import torch

        use = self._slot.use() if self._slot is not None else contextlib.nullcontext()
        with use, torch.inference_mode():
            net = self._net
            if net is None:
                raise EngineUnavailable("Модель GFPGAN не загружена.", "GFPGAN used before load()")
            size = 2 ** net.log_size
            h, w = crops.shape[1:3]
            faces = np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA if h > size else cv2.INTER_CUBIC)
                              for c in crops])
            out = np.empty_like(faces)
            step = self.settings.batch_size
            for i in range(0, len(faces), step):
                x = torch.from_numpy(faces[i:i + step]).to(self.device).permute(0, 3, 1, 2)
                x = x.to(torch.float16 if self.half else torch.float32) / 127.5 - 1.0
                # the stored noise maps, unlike GFPGANer's fresh noise per call: frames of a still face
                # stay identical, so the restored video does not shimmer
                y = net(x, randomize_noise=False).float().clamp_(-1, 1).add_(1).mul_(127.5).round_()
                out[i:i + step] = y.permute(0, 2, 3, 1).to(torch.uint8).cpu().numpy()
        return np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA if h < size else cv2.INTER_CUBIC)
                         for f in out])
