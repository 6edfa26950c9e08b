"""The enhancement stage interface: talking-head frames in, the same frames with a sharper face out.

An engine implements one method, :meth:`EnhanceEngine.restore` (one RGB face crop -> an enhanced crop
of the same size). The base class crops the face region of every frame, restores it and blends it
back through the region's feathered mask (:meth:`enhance`, :meth:`enhance_batch`). Frame size, frame
count and audio never change. Frames of a video reach it in one place only: the hook of
:meth:`ai_pipeline.runner.Pipeline.enhancer_for`, which the streamer applies to every rendered batch.
"""

from __future__ import annotations

import dataclasses
import logging
from abc import abstractmethod
from typing import Any, ClassVar, Literal

import cv2
import numpy as np

from ai_pipeline.chunks import FrameBatch
from ai_pipeline.engine import Engine, EngineInfo, EngineSettings
from ai_pipeline.enhance.region import FaceRegion

log = logging.getLogger(__name__)


class NoEnhanceSettings(EngineSettings):
    """No enhancement: the real-time default. A settings-only choice (the catalogue's ``OFF``): no engine."""

    info: ClassVar[EngineInfo] = EngineInfo(label_ru="Без улучшения (быстрее всего)", heavy=False)

    engine: Literal["none"] = "none"


class EnhanceEngine(Engine):
    """Base class for enhancement engines (face restoration / super-resolution on the face crop)."""

    def register_gpu(self, name: str, estimate_mb: int) -> Any:
        """Declare this engine's VRAM to the shared budget (a second instance gets a suffixed name)."""
        from ai_pipeline.gpu import gpu_manager

        manager = gpu_manager()
        try:
            return manager.register(name, self, estimate_mb)  # type: ignore[arg-type]
        except ValueError:  # another pipeline in this process holds the name
            return manager.register(f"{name}#{id(self):x}", self, estimate_mb)  # type: ignore[arg-type]

    def unregister_gpu(self, slot: Any) -> None:
        if slot is not None:
            from ai_pipeline.gpu import gpu_manager

            gpu_manager().unregister(slot.name)

    @property
    def strength(self) -> float:
        return float(getattr(self.settings, "strength", 1.0))

    def region_for(self, landmarks: np.ndarray, frame_hw: tuple[int, int]) -> FaceRegion:
        """The face box for frames of ``frame_hw`` with the engine's margin and feathering."""
        return FaceRegion.around(landmarks, frame_hw, margin=getattr(self.settings, "margin", 0.25),
                                 feather=getattr(self.settings, "feather", 0.15))

    @abstractmethod
    def restore(self, crop: np.ndarray) -> np.ndarray:
        """One (h, w, 3) uint8 RGB crop -> the enhanced crop, same shape and dtype (blocking)."""

    def restore_many(self, crops: np.ndarray) -> np.ndarray:
        """(N, h, w, 3) crops at once; engines that batch on a GPU override this."""
        return np.stack([self.restore(np.ascontiguousarray(c)) for c in crops])

    def enhance(self, frames: np.ndarray, region: FaceRegion) -> np.ndarray:
        """(N, H, W, 3) uint8 frames with the face region enhanced; outside the region unchanged."""
        rows, cols = region.slices
        restored = self.restore_many(frames[:, rows, cols])
        out = np.empty_like(frames)
        for i, frame in enumerate(frames):
            out[i] = region.paste(frame, restored[i], self.strength)
        return out

    def enhance_batch(self, batch: FrameBatch, region: FaceRegion) -> FrameBatch:
        return dataclasses.replace(batch, frames=self.enhance(batch.frames, region))


class UpscaleEnhance(EnhanceEngine):
    """An engine built on a super-resolution network: the face crop is resized to ``input_px``,
    upscaled x2-x4, and resized back to the crop's size (detail restored, frame size unchanged)."""

    @abstractmethod
    def upscale(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w, 3) uint8 RGB -> (h*scale, w*scale, 3) uint8 (blocking)."""

    def upscale_many(self, rgbs: np.ndarray) -> np.ndarray:
        """(N, h, w, 3) at once; engines that batch on a GPU override this."""
        return np.stack([self.upscale(x) for x in rgbs])

    def restore(self, crop: np.ndarray) -> np.ndarray:
        return self.restore_many(crop[None])[0]

    def restore_many(self, crops: np.ndarray) -> np.ndarray:
        h, w = crops.shape[1:3]
        side = self.settings.input_px
        shrink = cv2.INTER_AREA if side < min(h, w) else cv2.INTER_CUBIC
        big = self.upscale_many(np.stack([cv2.resize(np.ascontiguousarray(c), (side, side), interpolation=shrink)
                                          for c in crops]))
        back = cv2.INTER_AREA if big.shape[1] > h else cv2.INTER_CUBIC
        return np.stack([cv2.resize(b, (w, h), interpolation=back) for b in big])
