"""Enhancement stage: talking-head frames -> the same frames with the face region restored."""

from ai_pipeline.enhance.base import EnhanceEngine, UpscaleEnhance
from ai_pipeline.enhance.region import FaceRegion

__all__ = ["EnhanceEngine", "FaceRegion", "UpscaleEnhance"]
