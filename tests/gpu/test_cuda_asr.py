"""Both Whisper engines on the device under test against the same engine on the CPU.

openai-whisper runs the tiny random checkpoint of tests/ai_pipeline/test_asr_engines.py: its text is
noise, so what is compared is the model's numbers on real speech (the encoder's features) in the
precision the engine uses there (fp16 on CUDA). faster-whisper runs the packaged base model
(float16 on CUDA, int8 on the CPU) and both must recognise the same Russian speech.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ai_pipeline.asr.faster_whisper import FasterWhisperASR, FasterWhisperSettings
from ai_pipeline.asr.metrics import cer
from ai_pipeline.asr.openai_whisper import OpenAIWhisperASR, OpenAIWhisperSettings
from tests.ai_pipeline.test_asr_engines import (  # noqa: F401 - models_dir, speech, tiny_checkpoint: fixtures
    REFERENCE,
    _assert_well_formed,
    models_dir,
    speech,
    tiny_checkpoint,
)
from tests.gpu.compare import DEVICE, TENSOR_TOLERANCE

pytestmark = pytest.mark.gpu


def _encoder_features(asr: OpenAIWhisperASR, samples: np.ndarray) -> torch.Tensor:
    """The encoder's features of ``samples`` as the engine computes them (its loaded model on its
    device, fp16 input on CUDA as in its transcribe), moved to the CPU as float32.

    Only the encoder is compared: the random decoder's text is noise, and greedy decoding turns the
    smallest fp16 difference into another token.
    """
    import whisper

    asr.load()
    model = asr._model
    dtype = torch.float16 if asr.describe()["fp16"] else torch.float32
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(samples)), model.dims.n_mels)
    with torch.inference_mode():
        features = model.embed_audio(mel[None].to(asr.device, dtype))
    assert features.shape == (1, model.dims.n_audio_ctx, model.dims.n_audio_state)
    return features.float().cpu()


def test_openai_whisper_on_the_device_matches_the_cpu(tiny_checkpoint: Path, speech: np.ndarray) -> None:  # noqa: F811
    cpu = OpenAIWhisperASR(OpenAIWhisperSettings(checkpoint=str(tiny_checkpoint), device="cpu"), max_tokens=8)
    dev = OpenAIWhisperASR(OpenAIWhisperSettings(checkpoint=str(tiny_checkpoint), device=DEVICE), max_tokens=8)
    t = dev.transcribe(speech)
    _assert_well_formed(t, speech)
    assert t.language == "ru"
    info = dev.describe()
    assert info["device"] == DEVICE and info["fp16"] is (DEVICE == "cuda") and info["loaded"] is True
    rtol, atol = TENSOR_TOLERANCE["fp16" if info["fp16"] else "fp32"]
    torch.testing.assert_close(_encoder_features(dev, speech), _encoder_features(cpu, speech), rtol=rtol, atol=atol)


def test_faster_whisper_on_the_device_agrees_with_the_cpu(models_dir: Path, speech: np.ndarray) -> None:  # noqa: F811
    import ctranslate2

    if DEVICE == "cuda" and ctranslate2.get_cuda_device_count() == 0:
        pytest.skip("ctranslate2 sees no CUDA device (a CTranslate2 build without CUDA, or its CUDA libraries missing)")
    cpu = FasterWhisperASR(FasterWhisperSettings(device="cpu"), models_dir)
    dev = FasterWhisperASR(FasterWhisperSettings(device=DEVICE), models_dir)
    want, got = cpu.transcribe(speech), dev.transcribe(speech)
    info = dev.describe()
    assert info["device"] == DEVICE and info["loaded"] is True
    assert info["compute_type"] == ("float16" if DEVICE == "cuda" else "int8")
    _assert_well_formed(got, speech)
    assert got.language == want.language == "ru"
    assert cer(REFERENCE, got.text) <= 0.12, got.text
    assert cer(want.text, got.text) <= 0.1, (want.text, got.text)  # float16 and int8: a word may differ
    assert abs(got.segments[-1].end - want.segments[-1].end) <= 1.0
