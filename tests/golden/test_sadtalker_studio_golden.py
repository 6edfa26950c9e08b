"""The studio pipeline's and the prepare step's own code against the upstream golden files: SadTalker's
per-frame mel windows (``generate_batch.py``), ``make_animation``'s source half as the prepare step
and the studio compute it (source keypoints posed by MappingNet, not at 0/0/0) and its per-frame half,
on name-seeded weights at the published size. The 256 px crop is checked against the cropper's rule on
a real photo (no golden file covers the cropper)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ai_pipeline.talking_head.prepare import prepare_face
from ai_pipeline.talking_head.sadtalker.checkpoint import CoefficientNetworks, FaceRenderer
from ai_pipeline.talking_head.sadtalker.framing import recon_input
from ai_pipeline.talking_head.sadtalker.motion import bins_to_degrees, transform_keypoints
from ai_pipeline.talking_head.sadtalker.networks import KPDetector, MappingNet, OcclusionAwareSPADEGenerator, RendererConfig
from ai_pipeline.talking_head.sadtalker.prepare import crop_for_renderer, source_keypoints
from ai_pipeline.talking_head.sadtalker.speech import blink_ratios, mel_windows
from ai_pipeline.talking_head.sadtalker.studio import StudioModels, drive
from ai_pipeline.talking_head.wav2lip.audio import mel_windows as wav2lip_windows
from tests.golden.reference import assert_outputs, load, seeded


def test_mel_windows_are_upstreams() -> None:
    """For frame i the 16 columns from int(80 * (i - 2) / 25), clamped: ExpNet's and PoseVAE's stored input."""
    wav = load("wav2lip_mel").input("wav").numpy()
    expected = load("sadtalker_audio2exp").input("indiv_mels")[0].numpy()
    ours = mel_windows(wav, 16000, len(expected))
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=0, atol=4e-4)  # the mel front end's own tolerance
    wav2lip_style = wav2lip_windows(wav, 16000, 25, len(expected))  # windows without the 2-frame lead: not these
    assert np.abs(wav2lip_style - expected).max() > 0.1


def test_blinks_follow_upstreams_schedule() -> None:
    assert not blink_ratios(20).any()
    ratio = blink_ratios(400, seed=3)[:, 0]
    starts = np.flatnonzero((ratio > 0) & (np.r_[0.0, ratio[:-1]] == 0))
    assert len(starts) >= 4 and all(np.allclose(ratio[s:s + 5], [0.5, 0.9, 1.0, 0.9, 0.5]) for s in starts)
    assert not np.array_equal(ratio, blink_ratios(400, seed=4)[:, 0])


@pytest.fixture(scope="module")
def renderer():
    golden = load("sadtalker_renderer_step")
    cfg = RendererConfig()
    nets = {"generator": OcclusionAwareSPADEGenerator(cfg), "kp_extractor": KPDetector(cfg), "mapping": MappingNet(cfg)}
    nets = {role: seeded(net, golden, role) for role, net in nets.items()}
    face = FaceRenderer(nets["kp_extractor"], nets["generator"], nets["mapping"], None, cfg)
    return golden, StudioModels(face, CoefficientNetworks(None, None, None))  # type: ignore[arg-type]


def test_source_keypoints_are_posed_by_mapping(renderer) -> None:
    """The prepare step's and the studio's source half equals upstream's (call a); posing at 0/0/0 does not."""
    golden, models = renderer
    with torch.no_grad():
        kp_canonical, he, kp_source = source_keypoints(models.renderer, golden.input("source_image"),
                                                       golden.input("source_semantics"))
        zero = torch.zeros(1)
        frontal = transform_keypoints(kp_canonical, he, zero, zero, zero)
    assert_outputs(golden, {"a/kp_canonical": kp_canonical, "a/kp_source": kp_source}, check_mids=False)
    assert float(bins_to_degrees(he["yaw"]).abs()) > 1, "the seeded source pose is not frontal"
    with pytest.raises(AssertionError):
        assert_outputs(golden, {"a/kp_source": frontal}, check_mids=False)


def test_one_studio_frame_is_make_animation(renderer) -> None:
    """The studio's per-frame half (MappingNet on the frame's window, keypoints, generator) on upstream's
    inputs gives upstream's prediction (call a: the driving pose from MappingNet's bins)."""
    golden, models = renderer
    src = golden.input("source_image")
    with torch.no_grad():
        kp_canonical, _, kp_source = source_keypoints(models.renderer, src, golden.input("source_semantics"))
        volume = models.renderer.generator.source_volume(src)
        prediction = drive(models, volume, kp_canonical, kp_source, golden.input("target_semantics")[:, 0])
    assert_outputs(golden, {"a/prediction": prediction[:, None]}, check_mids=False)


def test_crop_frames_the_eyes_as_upstreams_cropper(photo_bytes) -> None:
    """Eye line near y = 123 of 256 (upstream's cropper), not the old ~97; the face centred across."""
    face = prepare_face(photo_bytes, size=512)
    crop, points, (left, top, side) = crop_for_renderer(face, 256)
    from ai_pipeline.talking_head import landmarks as lm

    eyes = points[list(lm.RIGHT_EYE_UPPER + lm.RIGHT_EYE_LOWER + lm.LEFT_EYE_UPPER + lm.LEFT_EYE_LOWER)]
    eye_y, eye_x = float(eyes[:, 1].mean()), float(eyes[:, 0].mean())
    assert 116 < eye_y < 130, eye_y
    assert abs(eye_x - 128) < 8, eye_x
    assert crop.shape == (256, 256, 3) and 0 <= left and 0 <= top and left + side <= 512 and top + side <= 512
    window = recon_input(crop, points)  # Deep3DFaceRecon's 224 px input: the face fills the window
    assert window.shape == (224, 224, 3) and window[112].std() > 5 and (window.reshape(-1, 3).max(axis=1) > 0).mean() > 0.9
