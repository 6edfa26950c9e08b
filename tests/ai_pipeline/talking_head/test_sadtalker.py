"""SadTalker prepare step: renderer networks in the published checkpoint layouts (random weights at
reduced width, same code), loaded strictly by the real loader, and a cached base loop from a real photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.talking_head.prepare import prepare_face
from ai_pipeline.talking_head.sadtalker.checkpoint import LEGACY, MAPPING, load_renderer, safetensors_name
from ai_pipeline.talking_head.sadtalker.motion import idle_pose, rotation_matrix, transform_keypoints
from ai_pipeline.talking_head.wav2lip.engine import Wav2LipSettings
from ai_pipeline.talking_head.sadtalker.networks import (
    HEEstimator,
    KPDetector,
    MappingNet,
    OcclusionAwareSPADEGenerator,
    RendererConfig,
)
from ai_pipeline.talking_head.sadtalker.prepare import crop_box, make_base_loop
from ai_pipeline.talking_head.wav2lip.base_loop import BaseLoop, loop_path
from ai_pipeline.talking_head.wav2lip.engine import Wav2LipEngine

SIZE = 128  # render size for the reduced model (the published one renders 256 or 512)
SMALL = RendererConfig(feature_channel=4, kp_expansion=4, kp_max_features=32, kp_reshape_channel=32 * 16,
                       he_expansion=8, he_widths=(16, 32, 64, 128), gen_expansion=8, gen_max_features=64,
                       gen_reshape_channel=4, spade_hidden=16, dm_expansion=4, dm_max_features=32, descriptor_nc=32)


def _randomised(module: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        for name, buf in module.named_buffers():
            if name.endswith("running_var"):
                buf.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                buf.normal_(0, 0.1)
    return module.eval()


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return {"generator": _randomised(OcclusionAwareSPADEGenerator(SMALL)), "kp": _randomised(KPDetector(SMALL)),
            "he": _randomised(HEEstimator(SMALL)), "mapping": _randomised(MappingNet(SMALL))}


def write_safetensors_layout(nets, folder: Path) -> Path:
    """SadTalker_V0.0.2_<size>.safetensors (flat, prefixed keys) + mapping_00229-model.pth.tar."""
    folder.mkdir(parents=True, exist_ok=True)
    flat = {}
    for prefix, net in (("generator", nets["generator"]), ("kp_extractor", nets["kp"]), ("he_estimator", nets["he"])):
        flat.update({f"{prefix}.{k}": v.contiguous() for k, v in net.state_dict().items()})
    flat["audio2exp.netG.dummy"] = torch.zeros(1)  # other SadTalker networks share the file
    save_file(flat, str(folder / safetensors_name(SIZE)))
    torch.save({"mapping": nets["mapping"].state_dict(), "epoch": 229}, folder / MAPPING)
    return folder


@pytest.fixture(scope="module")
def checkpoints(nets, tmp_path_factory) -> Path:
    return write_safetensors_layout(nets, tmp_path_factory.mktemp("sadtalker"))


def _same(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sb = b.state_dict()
    for k, v in a.state_dict().items():
        torch.testing.assert_close(v, sb[k], rtol=0, atol=0)


def test_safetensors_layout_loads_strictly(nets, checkpoints):
    r = load_renderer(checkpoints, SIZE, SMALL)
    _same(r.generator, nets["generator"])
    _same(r.kp_detector, nets["kp"])
    _same(r.mapping, nets["mapping"])
    assert r.he_estimator is not None
    _same(r.he_estimator, nets["he"])


def test_legacy_pth_tar_layout_loads_strictly(nets, tmp_path):
    torch.save({"generator": nets["generator"].state_dict(), "kp_detector": nets["kp"].state_dict(),
                "he_estimator": nets["he"].state_dict(), "epoch": 189}, tmp_path / LEGACY)
    torch.save({"mapping": nets["mapping"].state_dict(), "epoch": 229}, tmp_path / MAPPING)
    r = load_renderer(tmp_path, SIZE, SMALL)
    _same(r.generator, nets["generator"])
    _same(r.he_estimator, nets["he"])


def test_mismatched_or_missing_weights_are_refused(nets, tmp_path):
    with pytest.raises(EngineUnavailable, match="Нет весов SadTalker"):
        load_renderer(tmp_path, SIZE, SMALL)
    state = nets["generator"].state_dict()
    state.pop("decoder.G_middle_0.conv_0.weight_orig")
    torch.save({"generator": state, "kp_detector": nets["kp"].state_dict()}, tmp_path / LEGACY)
    torch.save({"mapping": nets["mapping"].state_dict()}, tmp_path / MAPPING)
    with pytest.raises(EngineUnavailable, match="generator"):
        load_renderer(tmp_path, SIZE, SMALL)


def test_published_widths_and_key_names():
    cfg = RendererConfig()
    mapping, kp = MappingNet(cfg), KPDetector(cfg)
    assert mapping.first[0].weight.shape == (1024, 70, 7) and mapping.fc_exp.weight.shape == (45, 1024)
    assert kp.predictor.conv.weight.shape == (16384, 1024, 1, 1) and kp.kp.weight.shape == (15, 32, 3, 3, 3)
    assert "down.weight" in kp.state_dict() and kp.state_dict()["down.weight"].shape == (3, 1, 13, 13)
    assert sum(p.numel() for p in mapping.parameters()) == 10_195_190


def test_keypoint_motion():
    zero = torch.zeros(1)
    np.testing.assert_allclose(rotation_matrix(zero, zero, zero)[0].numpy(), np.eye(3), atol=1e-6)
    rot = rotation_matrix(torch.tensor([10.0]), torch.tensor([-5.0]), torch.tensor([3.0]))[0]
    np.testing.assert_allclose((rot @ rot.T).numpy(), np.eye(3), atol=1e-5)
    kp = torch.randn(1, 15, 3) * 0.3
    he = {"yaw": torch.randn(1, 66), "pitch": torch.randn(1, 66), "roll": torch.randn(1, 66),
          "t": torch.randn(1, 3), "exp": torch.zeros(1, 45)}
    posed = transform_keypoints(kp, he, zero, zero, zero)
    np.testing.assert_allclose((posed - kp)[..., 1].numpy(), np.broadcast_to(he["t"][:, 1:2].numpy(), (1, 15)), atol=1e-6)
    assert idle_pose(12, 25) == idle_pose(12, 25) and idle_pose(0, 25) != idle_pose(50, 25)


@pytest.fixture(scope="module")
def face(photo_bytes, tmp_path_factory):
    return prepare_face(photo_bytes, size=512, cache_dir=tmp_path_factory.mktemp("avatars"))


def test_prepare_renders_and_caches_the_base_loop(face, checkpoints, tmp_path):
    events: list[tuple[float, str]] = []
    folder = tmp_path / face.avatar_id
    loop = make_base_loop(face, folder, checkpoints, n_frames=5, fps=25, size=SIZE, config=SMALL, device="cpu",
                          progress=lambda f, m: events.append((f, m)))
    assert loop.frames.shape == (5, 512, 512, 3) and loop.frames.dtype == np.uint8
    assert loop.landmarks.shape == (5, 468, 2) and loop.source == "sadtalker"
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("кадр 5 из 5" in m for _, m in events)
    left, top, side = crop_box(face.landmarks, 512)
    outside = np.ones((512, 512), bool)
    outside[top:top + side, left:left + side] = False
    for frame in loop.frames:
        np.testing.assert_array_equal(frame[outside], face.image[outside])  # only the face square is re-rendered
        assert np.abs(frame[top + side // 2, left:left + side].astype(int) - face.image[top + side // 2, left:left + side]).mean() > 1
    assert not np.array_equal(loop.frames[0], loop.frames[4]), "the head pose moves over the loop"
    cached = BaseLoop.load(loop_path(folder, "sadtalker"))
    assert cached is not None and cached.source == "sadtalker"
    np.testing.assert_array_equal(cached.frames, loop.frames)


def test_wav2lip_uses_a_prepared_sadtalker_loop(face, checkpoints, photo_bytes, tmp_path):
    from ai_pipeline.talking_head.wav2lip.net import Wav2Lip

    ckpt = tmp_path / "w2l.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in Wav2Lip().state_dict().items()}}, ckpt)
    cache = tmp_path / "avatars"
    make_base_loop(face, cache / face.avatar_id, checkpoints, n_frames=4, fps=25, size=SIZE, config=SMALL, device="cpu")
    engine = Wav2LipEngine(Wav2LipSettings(checkpoint=ckpt))
    engine.load()
    try:
        avatar = engine.prepare(photo_bytes, cache_dir=cache)
        assert avatar.state.loop.source == "sadtalker" and len(avatar.state.loop) == 4
        other = engine.prepare(photo_bytes, cache_dir=tmp_path / "fresh")
        assert other.state.loop.source == "mesh_warp", "without a prepared loop the mesh_warp loop is used"
    finally:
        engine.close()
