"""SadTalker's speech-to-coefficient networks against the upstream golden files, on name-seeded
weights: ExpNet (``Audio2Exp.test``) and PoseVAE (``Audio2Pose.test`` plus the Savitzky-Golay smoothing)."""

from __future__ import annotations

import torch

from ai_pipeline.talking_head.sadtalker.audio2exp import ExpNet, predict_expressions
from ai_pipeline.talking_head.sadtalker.audio2pose import Audio2Pose, smooth_poses
from tests.golden.reference import assert_outputs, load, recording, seeded


def test_expnet() -> None:
    golden = load("sadtalker_audio2exp")
    net = seeded(ExpNet(), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        exp = predict_expressions(net, golden.input("indiv_mels"), golden.input("ref"), golden.input("ratio_gt"))
    assert_outputs(golden, {"exp_coeff_pred": exp}, rec)


def test_pose_vae() -> None:
    golden = load("sadtalker_audio2pose")
    net = seeded(Audio2Pose(), golden)
    z = iter(golden.input("z"))  # upstream's torch.randn(bs, 64) calls, in order
    ref = golden.input("ref")
    with torch.no_grad(), recording(net, golden) as rec:
        motion = net.motion(golden.input("indiv_mels"), ref, golden.input("class"), int(golden.input("num_frames")),
                            noise=lambda b, n: next(z))
    assert next(z, None) is None  # both draws used
    pose = ref[:, :1, -6:] + motion  # what Audio2Pose.predict returns
    assert_outputs(golden, {"pose_motion_pred": motion, "pose_pred": pose,
                            "pose_pred_savgol": smooth_poses(pose.numpy())}, rec)
