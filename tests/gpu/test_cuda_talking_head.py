"""Wav2Lip and the SadTalker base loop on the device under test against the CPU.

Both use the random checkpoints of tests/ai_pipeline/talking_head/ on the packaged photo: Wav2Lip
redraws the mouth for real Festival speech (fp16 autocast on CUDA; on the CPU what `auto` picks), SadTalker
renders a few frames of the idle loop (fp32).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.gpu import gpu_manager
from ai_pipeline.talking_head.prepare import PreparedFace
from ai_pipeline.talking_head.sadtalker.prepare import crop_box, make_base_loop
from ai_pipeline.talking_head.wav2lip.engine import Wav2LipEngine, Wav2LipSettings, cpu_has_native_bf16
from tests.ai_pipeline.talking_head.test_sadtalker import SIZE, SMALL, checkpoints, face, nets  # noqa: F401 - fixtures
from tests.ai_pipeline.talking_head.test_wav2lip import checkpoint, random_model, speech  # noqa: F401 - the fixtures
from tests.gpu.compare import DEVICE, assert_images_close, device_kind

pytestmark = pytest.mark.gpu


def test_wav2lip_on_the_device_matches_the_cpu(checkpoint: Path, speech: AudioChunk,  # noqa: F811
                                               photo_bytes: bytes, tmp_path: Path) -> None:
    settings = Wav2LipSettings(checkpoint=checkpoint, base_loop_seconds=1.2, batch_size=3)
    cpu = Wav2LipEngine(settings.model_copy(update={"device": "cpu", "precision": "fp32"}))
    dev = Wav2LipEngine(settings.model_copy(update={"device": DEVICE}))
    # 4 frames (batches of 3 and 1) from the middle of the sentence
    start = speech.sample_rate
    piece = AudioChunk(speech.samples[start:start + speech.sample_rate * 4 // 25], speech.sample_rate)
    cpu.load()
    dev.load()
    try:
        avatar = cpu.prepare(photo_bytes, cache_dir=tmp_path)
        want, got = list(cpu.render(avatar, piece, first_frame=3)), list(dev.render(avatar, piece, first_frame=3))
        info = dev.describe()
    finally:
        cpu.close()
        dev.close()
    assert device_kind(info["device"]) == DEVICE
    assert info["precision"] == ("fp16" if DEVICE == "cuda" else "bf16" if cpu_has_native_bf16() else "fp32")
    assert [(b.first_frame, len(b.frames), b.final) for b in got] == [(3, 3, False), (6, 1, True)]
    assert [(b.first_frame, len(b.frames), b.final) for b in want] == [(3, 3, False), (6, 1, True)]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.audio, w.audio)
    frames, reference = np.concatenate([b.frames for b in got]), np.concatenate([b.frames for b in want])
    loop = avatar.state.loop
    base = loop.frames[[loop.index(3 + i) for i in range(len(frames))]]
    mouth = ((reference != base) | (frames != base)).any(axis=(0, 3))  # pixels either engine redrew
    assert mouth.sum() > 1000, "the generator redrew the mouth"
    assert_images_close(frames, reference, str(info["precision"]), where=mouth)


@pytest.mark.usefixtures("full_fp32")
def test_sadtalker_loop_on_the_device_matches_the_cpu(face: PreparedFace, checkpoints: Path) -> None:  # noqa: F811
    renderer_devices: set[str] = set()

    def progress(fraction: float, message: str) -> None:
        slot = gpu_manager()._slots.get("sadtalker")  # the renderer, registered while the loop is made
        renderer = slot.model.renderer if slot is not None else None
        if renderer is not None:
            renderer_devices.update(p.device.type for net in (renderer.kp_detector, renderer.generator,
                                                              renderer.mapping) for p in net.parameters())

    want, got = (make_base_loop(face, None, checkpoints, n_frames=3, fps=25, size=SIZE, config=SMALL, device=device,
                                progress=progress if device == DEVICE else None) for device in ("cpu", DEVICE))
    assert renderer_devices == {DEVICE}
    assert got.source == want.source == "sadtalker" and got.fps == want.fps
    assert got.landmarks.shape == want.landmarks.shape and got.landmarks.dtype == want.landmarks.dtype
    assert np.abs(got.landmarks - want.landmarks).mean() <= 0.5
    left, top, side = crop_box(face.landmarks, face.size)
    square = np.zeros((face.size, face.size), bool)
    square[top:top + side, left:left + side] = True
    np.testing.assert_array_equal(got.frames[:, ~square], want.frames[:, ~square])
    assert_images_close(got.frames, want.frames, "fp32", where=square)
