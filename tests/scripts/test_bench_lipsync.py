"""scripts/bench.py lipsync: SyncNet's LSE-D / LSE-C on a real CPU render, with randomly initialised
SyncNet weights saved in the published file layout (random weights say nothing about lip sync, so the
checks are on the arithmetic: MFCC front end, window alignment, offset search, distance and confidence)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from ai_pipeline.settings import REPO_ROOT
from ai_pipeline.talking_head.syncnet import SyncNetV2, load_syncnet

BENCH = [sys.executable, str(REPO_ROOT / "scripts" / "bench.py"), "lipsync"]
AVATAR = str(Path(sys.executable).with_name("avatar"))


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """scripts/bench_lipsync.py imported as bench.py imports it: its folder on the path (this module only)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(REPO_ROOT / "scripts"))
        return importlib.import_module("bench_lipsync")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A short real render (``avatar render``, CPU engines) and a random SyncNet in syncnet_v2.model's layout."""
    tmp = tmp_path_factory.mktemp("lipsync")
    clip = tmp / "clip.mp4"
    env = {**os.environ, "AVATAR_DATA_DIR": str(tmp / "data")}
    done = subprocess.run([AVATAR, "render", "--text", "Привет! Как дела?", "--out", str(clip), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    torch.manual_seed(7)
    weights = tmp / "syncnet_v2.model"
    torch.save({f"__S__.{k}": v for k, v in SyncNetV2().state_dict().items()}, weights)
    return {"clip": clip, "weights": weights}


@pytest.fixture(scope="module")
def scored(bench: ModuleType, files: dict[str, Path]) -> dict[str, Any]:
    frames, audio = bench.read_clip(files["clip"])
    crops = bench.crop_faces([cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames], bench.face_track(frames))
    net = load_syncnet(files["weights"])
    lip, sound = bench.embed(net, crops, audio)
    return {"frames": frames, "audio": audio, "crops": crops, "net": net, "lip": lip, "sound": sound}


def published_lse(lip: torch.Tensor, sound: torch.Tensor, vshift: int = 15) -> tuple[int, float, float]:
    """syncnet_python's calc_pdist + evaluate, written out loop by loop (the reference for the bench)."""
    win = 2 * vshift + 1
    padded = torch.cat([torch.zeros(vshift, sound.shape[1]), sound, torch.zeros(vshift, sound.shape[1])])
    per_offset = torch.zeros(win)
    for i in range(len(lip)):
        for k in range(win):
            per_offset[k] += torch.dist(lip[i], padded[i + k]) / len(lip)
    best = int(torch.argmin(per_offset))
    return vshift - best, float(per_offset[best]), float(torch.median(per_offset) - per_offset[best])


def test_mfcc_is_python_speech_features(bench: ModuleType, scored: dict[str, Any]) -> None:
    psf = pytest.importorskip("python_speech_features")
    audio = scored["audio"]
    reference = np.stack([np.array(column) for column in zip(*psf.mfcc(audio, 16000))])
    ours = bench.mfcc(audio)
    assert ours.shape == reference.shape == (13, 1 + int(np.ceil((len(audio) - 400) / 160)))
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-9)


def test_the_clip_is_cut_into_25_fps_face_windows(scored: dict[str, Any]) -> None:
    crops, audio, lip = scored["crops"], scored["audio"], scored["lip"]
    assert crops.shape[1:] == (224, 224, 3) and crops.dtype == np.uint8
    frames = min(len(crops), len(audio) // 640)
    assert lip.shape == scored["sound"].shape == (frames - 5, 1024)  # evaluate(): range(min_length - 5)
    # the crop is the face: darker, textured centre against the grey 110 padding never reached here
    assert crops[:, 100:140, 80:144].std() > 10


def test_delayed_audio_moves_the_audio_windows_by_whole_frames(bench: ModuleType, scored: dict[str, Any]) -> None:
    lip, sound = scored["lip"], scored["sound"]
    for n in (1, 4):
        later = bench.embed_audio(scored["net"], bench.delayed(scored["audio"], n), len(lip))
        torch.testing.assert_close(later[n:], sound[:-n], rtol=0, atol=1e-5)  # 4 MFCC columns per video frame


def test_lse_is_the_published_computation(bench: ModuleType, scored: dict[str, Any]) -> None:
    lip, sound = scored["lip"], scored["sound"]
    got = bench.lse(lip, sound)
    offset, distance, confidence = published_lse(lip, sound)
    assert got["offset"] == offset and got["windows"] == len(lip)
    assert got["lse_d"] == pytest.approx(distance, rel=1e-4) and got["lse_c"] == pytest.approx(confidence, abs=1e-3)
    assert got["lse_c"] >= 0


@pytest.mark.parametrize("shift", [0, 3, -6])
def test_an_audio_track_shifted_by_n_frames_moves_the_offset_by_n(bench: ModuleType, scored: dict[str, Any],
                                                                 shift: int) -> None:
    """A perfectly synced pair (audio embeddings equal to the lip embeddings of the real clip), then the
    audio N frames late (silence first) or early: the offset reads -N, the distance at it stays ~0."""
    lip = scored["lip"]
    sound = torch.zeros_like(lip)
    if shift >= 0:
        sound[shift:] = lip[:len(lip) - shift]
    else:
        sound[:shift] = lip[-shift:]
    got = bench.lse(lip, sound)
    assert got["offset"] == -shift
    assert got["lse_d"] < 0.5 * float(torch.linalg.vector_norm(lip, dim=1).mean())
    assert got["lse_c"] > 0


def test_bench_scores_a_clip_and_its_delayed_control(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "lipsync.json"
    done = subprocess.run([*BENCH, "--video", str(files["clip"]), "--weights", str(files["weights"]),
                           "--control", "2", "--out", str(out)], capture_output=True, text=True, timeout=600,
                          cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert json.loads(done.stdout) == report and report["bench"] == "lipsync"
    (clip,) = report["clips"]
    assert clip["windows"] == clip["control"]["windows"] > 10 and clip["frames"] == clip["windows"] + 5
    assert np.isfinite([clip["lse_d"], clip["lse_c"]]).all() and clip["lse_d"] > 0 and clip["lse_c"] >= 0
    assert -15 <= clip["offset"] <= 15 and clip["control"]["audio_delay_frames"] == 2


def test_bench_without_weights_says_so_and_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "AVATAR_MODELS_DIR": str(tmp_path)}
    done = subprocess.run(BENCH, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["skipped"].startswith("no SyncNet weights")
    assert "нет весов SyncNet" in done.stderr
