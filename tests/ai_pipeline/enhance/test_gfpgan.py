"""GFPGAN: the network written here has the published checkpoint's exact shape; the engine loads a
small randomly initialised checkpoint of the same format through the real loading code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ai_pipeline.enhance.gfpgan import GfpganEngine, GfpganSettings, ffhq_box, five_points
from ai_pipeline.enhance.gfpgan_arch import GFPGANv1Clean
from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from ai_pipeline.talking_head.prepare import PreparedFace, prepare_face
from tests.devices import cuda_available


@pytest.fixture(scope="module")
def face(photo_bytes) -> PreparedFace:
    return prepare_face(photo_bytes, size=512)


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory) -> str:
    """A GFPGAN of the published layout at 64 px and 1/8 width, saved as the release files are."""
    torch.manual_seed(0)
    net = GFPGANv1Clean(out_size=64, narrow=0.125)
    path = tmp_path_factory.mktemp("gfpgan") / "tiny.pth"
    torch.save({"params_ema": net.state_dict()}, path)
    return str(path)


def test_published_architecture_size():
    """GFPGANv1.4.pth holds 87.1M fp32 values (332.4 MiB); ours must have exactly the same layout."""
    net = GFPGANv1Clean()
    state = net.state_dict()
    values = sum(t.numel() for t in state.values())
    assert len(state) == 285 and values == 87_143_276
    assert 332 < values * 4 / 2**20 < 333
    assert state["final_linear.weight"].shape == (16 * 512, 256 * 16)  # a latent per decoder layer
    assert state["stylegan_decoder.style_convs.13.modulated_conv.weight"].shape == (1, 64, 64, 3, 3)
    rebuilt = GFPGANv1Clean.from_state_dict(state)
    assert rebuilt.log_size == 9


def test_loader_reads_the_size_from_the_checkpoint(small_checkpoint):
    state = torch.load(small_checkpoint, weights_only=True)["params_ema"]
    net = GFPGANv1Clean.from_state_dict(state)
    assert net.log_size == 6
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    net.stylegan_decoder.style_conv1.weight.data.fill_(1.0)  # a noise strength (zero as initialised)
    with torch.inference_mode():
        y1, y2 = net(x, randomize_noise=False), net(x, randomize_noise=False)
        fresh = net(x)  # as the published inference: new noise maps on every call
    assert y1.shape == x.shape and torch.equal(y1, y2)  # fixed noise: the same frame twice, no flicker
    assert fresh.shape == x.shape and not torch.equal(fresh, y1)
    del state["toRGB.0.weight"]
    with pytest.raises(RuntimeError):
        GFPGANv1Clean.from_state_dict(state)


def test_ffhq_framing_of_the_prepared_face(face):
    x, y, side = ffhq_box(face.landmarks, (512, 512))
    pts = five_points(face.landmarks)
    assert 200 < side <= 512 and 0 <= x and x + side <= 512 and 0 <= y and y + side <= 512
    rel = (pts - [x, y]) / side * 512  # where the five points land in the 512 crop
    template = np.array([[193, 240], [319, 240], [257, 314], [201, 371], [313, 371]])
    assert np.abs(rel - template).max() < 40


def test_engine_restores_the_face_region(face, small_checkpoint):
    engine = GfpganEngine(GfpganSettings(checkpoint=small_checkpoint, strength=1.0))
    engine.load()
    info = engine.describe()  # auto: the GPU in fp16 where there is one
    assert (info["device"], info["precision"]) == (("cuda:0", "fp16") if cuda_available() else ("cpu", "fp32"))
    frames = np.stack([face.image, face.image])
    region = engine.region_for(face.landmarks, (512, 512))
    out = engine.enhance(frames, region)
    outside = np.ones((512, 512), bool)
    outside[region.slices] = False
    assert out.shape == frames.shape and np.array_equal(out[:, outside], frames[:, outside])
    assert not np.array_equal(out, frames) and np.array_equal(out[0], out[1])
    engine.close()


def test_missing_checkpoint(tmp_path, photo_bytes):
    with pytest.raises(EngineUnavailable, match="download_models.py --only gfpgan-v1.4"):
        GfpganEngine(GfpganSettings(), tmp_path).load()
    pipeline = Pipeline(Settings(data_dir=tmp_path, models_dir=tmp_path, enhance={"engine": "gfpgan"}))
    pipeline.load(stages=("talking_head",))
    assert pipeline.enhancer is None and any("GFPGAN" in n for n in pipeline.notices)
