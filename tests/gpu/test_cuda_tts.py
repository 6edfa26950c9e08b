"""XTTS on the device under test against the CPU, on the reduced checkpoint of tests/xtts_tiny.py.

Two things are compared: the voice conditioning each engine computes from the same real recordings
(speaker embedding, GPT conditioning latents), and the speech each synthesises from the same
conditioning. Sampling is made deterministic with ``top_k=1``, so both pick the same audio tokens
and the waveforms differ only by float32 arithmetic (XTTS runs fp32 on CUDA).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ai_pipeline.tts.xtts import LATENTS_FILE, XttsSettings, XttsTTS
from ai_pipeline.voice.base import Voice
from tests.ai_pipeline.tts.test_xtts import checkpoint  # noqa: F401 - the fixture
from tests.ai_pipeline.voice.speech import make_voice, nsh
from tests.gpu.compare import DEVICE, TENSOR_TOLERANCE, device_kind

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> tuple[Voice, Voice]:
    """The same recordings as two voices, so that each engine computes (and caches) its own latents."""
    chunks = nsh(0, 2)
    root = tmp_path_factory.mktemp("voices")
    return make_voice(root, "nsh-cpu", chunks), make_voice(root, "nsh-device", chunks)


@pytest.mark.usefixtures("full_fp32")
def test_xtts_on_the_device_matches_the_cpu(checkpoint: Path, voices: tuple[Voice, Voice]) -> None:  # noqa: F811
    settings = XttsSettings(model_dir=checkpoint, reference_s=8.0, top_k=1)
    cpu = XttsTTS(settings.model_copy(update={"device": "cpu"}))
    dev = XttsTTS(settings.model_copy(update={"device": DEVICE}))
    text = "Привет, как твои дела?"
    try:
        for engine, voice in ((cpu, voices[0]), (dev, voices[1])):
            assert engine.prepare_voice(voice)["cached"] is False
        want, got = cpu.synthesize_voiced(text, voices[0]), dev.synthesize_voiced(text, voices[0])
        info = dev.describe()
    finally:
        cpu.close()
        dev.close()
    assert device_kind(info["device"]) == DEVICE
    rtol, atol = TENSOR_TOLERANCE["fp32"]
    cached = [torch.load(v.folder / LATENTS_FILE, weights_only=True) for v in voices]
    for name in ("gpt_cond_latent", "speaker_embedding"):
        assert cached[1][name].device.type == "cpu"
        torch.testing.assert_close(cached[1][name], cached[0][name], rtol=rtol, atol=atol)
    assert got.sample_rate == want.sample_rate == 24000 and got.text == want.text == text
    assert got.samples.dtype == want.samples.dtype == np.float32
    assert got.samples.shape == want.samples.shape, "the same audio tokens were chosen"
    peak = float(np.abs(want.samples).max())
    assert peak > 1e-3 and float(np.abs(got.samples - want.samples).max()) <= 0.01 * peak
