"""SyncNet lip-sync scoring (LSE-C / LSE-D): the window layout of the metric and the offset search.
The network itself is proven equal to upstream in tests/golden/test_syncnet_golden.py."""

from __future__ import annotations

from pathlib import Path

import torch

from ai_pipeline.talking_head.syncnet import SyncNetV2, load_syncnet, sync_features, sync_score
from ai_pipeline.talking_head.wav2lip.syncnet import SyncNetColor, load_syncnet_color
from tests.golden.seeding import seed_module


def test_offset_distance_and_confidence_of_shifted_features() -> None:
    g = torch.Generator().manual_seed(0)
    audio = torch.randn(40, 16, generator=g)
    same = sync_score(audio.clone(), audio)
    assert same.offset == 0 and same.distance < 1e-4 and same.confidence > 1.0
    lip = torch.randn(40, 16, generator=g)
    lip[:-3] = audio[3:]  # the mouth shows now what is heard 3 frames later
    shifted = sync_score(lip, audio)
    assert shifted.offset == -3 and 0 < shifted.distance < same.confidence
    assert shifted.confidence > 0.5
    unrelated = sync_score(torch.randn(40, 16, generator=g), audio)
    assert unrelated.confidence < shifted.confidence and unrelated.distance > shifted.distance


def test_windows_follow_the_metric() -> None:
    """T frames give T - 5 windows; window v sees frames v..v+4 and MFCC columns 4v..4v+19."""
    net = seed_module(SyncNetV2()).eval()
    g = torch.Generator().manual_seed(1)
    video = torch.rand(3, 7, 224, 224, generator=g) * 255
    mfcc = torch.randn(13, 28, generator=g)
    lip, audio = sync_features(net, video, mfcc, batch=1)
    assert lip.shape == (2, 1024) and audio.shape == (2, 1024)
    with torch.no_grad():
        torch.testing.assert_close(lip[1], net.forward_lip(video[None, :, 1:6])[0], rtol=1e-4, atol=1e-3)
        torch.testing.assert_close(audio[1], net.forward_aud(mfcc[None, None, :, 4:24])[0], rtol=1e-4, atol=1e-4)
    score = sync_score(lip, audio, vshift=1)
    assert score.offset in (-1, 0, 1) and score.distance > 0 and score.confidence >= 0


def test_published_files_load_strictly(tmp_path: Path) -> None:
    """syncnet_v2.model carries the metric wrapper's ``__S__.`` prefix; lipsync_expert.pth is a
    Wav2Lip training checkpoint (``state_dict``, saved without BatchNorm counters by old torch)."""
    net = seed_module(SyncNetV2())
    torch.save({f"__S__.{k}": v for k, v in net.state_dict().items()}, tmp_path / "syncnet_v2.model")
    loaded = load_syncnet(tmp_path / "syncnet_v2.model")
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in loaded.state_dict().items())
    expert = seed_module(SyncNetColor())
    state = {f"module.{k}": v for k, v in expert.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save({"state_dict": state, "global_step": 1}, tmp_path / "lipsync_expert.pth")
    loaded_expert = load_syncnet_color(tmp_path / "lipsync_expert.pth")
    assert all(torch.equal(v, expert.state_dict()[k]) for k, v in loaded_expert.state_dict().items())
