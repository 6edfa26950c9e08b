"""Loading SadTalker's speech-to-coefficient networks and 3DMM regressor from the published layouts
(name-seeded weights written in each layout, read back strictly by the real loader)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.talking_head.sadtalker.audio2exp import ExpNet
from ai_pipeline.talking_head.sadtalker.audio2pose import Audio2Pose
from ai_pipeline.talking_head.sadtalker.checkpoint import (
    LEGACY_EXP,
    LEGACY_POSE,
    LEGACY_RECON,
    load_coefficient_networks,
    safetensors_name,
)
from ai_pipeline.talking_head.sadtalker.face3d import ReconNet
from tests.golden.seeding import seed_module


@pytest.fixture(scope="module")
def nets() -> dict[str, torch.nn.Module]:
    return {"audio2exp": seed_module(ExpNet()), "audio2pose": seed_module(Audio2Pose()),
            "face_3drecon": seed_module(ReconNet())}


def _same(a: torch.nn.Module, b: torch.nn.Module) -> None:
    theirs = b.state_dict()
    for key, value in a.state_dict().items():
        assert torch.equal(value, theirs[key]), key


def test_safetensors_layout(nets: dict[str, torch.nn.Module], tmp_path: Path) -> None:
    flat = {f"{prefix}.{k}": v.contiguous() for prefix, net in nets.items() for k, v in net.state_dict().items()}
    flat["generator.first.conv.weight"] = torch.zeros(1)  # the renderer shares the file
    save_file(flat, str(tmp_path / safetensors_name(256)))
    loaded = load_coefficient_networks(tmp_path)
    _same(loaded.expnet, nets["audio2exp"])
    _same(loaded.posevae, nets["audio2pose"])
    _same(loaded.recon, nets["face_3drecon"])


def test_legacy_layout_and_refusals(nets: dict[str, torch.nn.Module], tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="Нет весов SadTalker"):
        load_coefficient_networks(tmp_path)
    torch.save({"model": nets["audio2exp"].state_dict()}, tmp_path / LEGACY_EXP)
    torch.save({"model": nets["audio2pose"].state_dict()}, tmp_path / LEGACY_POSE)
    torch.save({"net_recon": nets["face_3drecon"].state_dict()}, tmp_path / LEGACY_RECON)
    loaded = load_coefficient_networks(tmp_path)
    _same(loaded.posevae, nets["audio2pose"])
    _same(loaded.recon, nets["face_3drecon"])
    state = nets["audio2pose"].state_dict()
    state.pop("netG.decoder.pose_linear.weight")
    torch.save({"model": state}, tmp_path / LEGACY_POSE)
    with pytest.raises(EngineUnavailable, match="audio2pose"):
        load_coefficient_networks(tmp_path)
