"""SadTalker's 3DMM regressor (Deep3DFaceRecon ResNet-50 + seven 1x1 heads) against the upstream golden
file, on name-seeded weights."""

from __future__ import annotations

import torch

from ai_pipeline.talking_head.sadtalker.face3d import ReconNet, sadtalker_coefficients
from tests.golden.reference import assert_outputs, load, recording, seeded


def test_face3d_recon() -> None:
    golden = load("sadtalker_face3d_recon")
    net = seeded(ReconNet(), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        coeffs = net(golden.input("image"))
    assert_outputs(golden, {"coeffs": coeffs}, rec)
    kept = sadtalker_coefficients(coeffs)
    assert kept.shape == (1, 70)
    assert torch.equal(kept[:, :64], coeffs[:, 80:144])
    assert torch.equal(kept[:, 64:], coeffs[:, [224, 225, 226, 254, 255, 256]])
