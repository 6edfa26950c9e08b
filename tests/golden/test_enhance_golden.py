"""Real-ESRGAN and GFPGAN against the upstream golden files, on name-seeded weights at the published
configurations (RealESRGAN_x4plus, x4plus_anime_6B, realesr-animevideov3, GFPGANv1.4)."""

from __future__ import annotations

import pytest
import torch

from ai_pipeline.enhance.esrgan_arch import RRDBNet, SRVGGNetCompact
from ai_pipeline.enhance.gfpgan_arch import GFPGANv1Clean
from tests.golden.reference import assert_outputs, load, recording, seeded

ESRGAN = {
    "realesrgan_x4plus": lambda: RRDBNet(num_block=23),
    "realesrgan_x4plus_anime_6B": lambda: RRDBNet(num_block=6),
    "realesrgan_animevideov3": lambda: SRVGGNetCompact(num_conv=16),
}


@pytest.mark.parametrize("name", list(ESRGAN))
def test_realesrgan(name: str) -> None:
    golden = load(name)
    net = seeded(ESRGAN[name](), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        sr = net(golden.input("lr"))
    assert_outputs(golden, {"sr": sr}, rec)


def test_gfpgan_v14_clean() -> None:
    """The file's call: ``model(face, return_rgb=True, randomize_noise=False)`` (stored noise maps)."""
    golden = load("gfpgan_v1.4_clean")
    assert "randomize_noise=False" in golden.meta["call"]
    net = seeded(GFPGANv1Clean(out_size=512, style_dim=512, multiplier=2, narrow=1.0, num_mlp=8), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        image = net(golden.input("face"), randomize_noise=False)
    assert_outputs(golden, {"image": image}, rec)
