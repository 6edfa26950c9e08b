"""The lip-sync networks against the upstream golden files, on name-seeded weights: Wav2Lip's expert
discriminator SyncNet_color and the SyncNet of the LSE-C / LSE-D metrics."""

from __future__ import annotations

import torch

from ai_pipeline.talking_head.syncnet import SyncNetV2
from ai_pipeline.talking_head.wav2lip.syncnet import SyncNetColor, sync_similarity
from tests.golden.reference import assert_outputs, load, recording, seeded


def test_wav2lip_syncnet_color() -> None:
    golden = load("wav2lip_syncnet")
    net = seeded(SyncNetColor(), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        audio, face = net(golden.input("mel"), golden.input("faces"))
    assert_outputs(golden, {"audio_embedding": audio, "face_embedding": face,
                            "cosine_similarity": sync_similarity(audio, face)}, rec)


def test_syncnet_v2_for_lse_metrics() -> None:
    golden = load("syncnet_v2_lse")
    net = seeded(SyncNetV2(1024), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        audio = net.forward_aud(golden.input("mfcc"))
        lip = net.forward_lip(golden.input("lip"))
    with torch.no_grad():
        lip_cnn = net.forward_lipfeat(golden.input("lip"))
    assert_outputs(golden, {"audio_feature": audio, "lip_feature": lip, "lip_cnn_feature": lip_cnn}, rec)
