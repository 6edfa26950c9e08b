"""Wav2Lip against the upstream golden files: the mel front end and the generator on name-seeded weights."""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import lfilter

from ai_pipeline.talking_head.wav2lip import audio
from ai_pipeline.talking_head.wav2lip.net import Wav2Lip
from tests.golden.reference import Recorder, assert_outputs, load, recording, seeded


def test_mel_front_end_matches_upstream() -> None:
    golden = load("wav2lip_mel")
    wav = golden.arrays["in/wav"]
    rec = Recorder()  # the front end's steps, named as the file names them
    emphasised = lfilter([1, -audio.PREEMPHASIS], [1], wav.astype(np.float64))
    rec.add("preemphasized", torch.from_numpy(emphasised))
    magnitude = audio.stft_magnitude(emphasised)
    rec.add("stft_magnitude", torch.from_numpy(magnitude))
    rec.add("mel_basis", torch.from_numpy(audio.mel_basis()))
    linear = audio.mel_basis().astype(np.float64) @ magnitude
    rec.add("mel_linear", torch.from_numpy(linear))
    rec.add("mel_db", torch.from_numpy(20 * np.log10(np.maximum(1e-5, linear)) - audio.REF_LEVEL_DB))
    assert_outputs(golden, {"mel": audio.melspectrogram(wav)}, rec)


def test_mel_windows_match_upstream_chunks() -> None:
    """Per 25 fps video frame the same 16 mel columns as upstream's chunk loop, except the last two:
    we pad the audio with silence (which changes the last mel columns), upstream clamps the final
    window to the end of the mel instead."""
    golden = load("wav2lip_mel")
    starts, mel = golden.output("mel_chunk_starts_25fps"), golden.output("mel")
    assert [int(i * audio.MELS_PER_SECOND / 25) for i in range(len(starts) - 1)] == list(starts[:-1])
    windows = audio.mel_windows(golden.arrays["in/wav"], audio.SAMPLE_RATE, 25, len(starts))
    for i in range(len(starts) - 2):
        ref = mel[:, starts[i]:starts[i] + audio.MEL_STEPS]
        assert np.abs(windows[i, 0] - ref).max() <= golden.atol("mel"), f"window {i}"


def test_generator_matches_upstream() -> None:
    golden = load("wav2lip")
    net = seeded(Wav2Lip(), golden)
    with torch.no_grad(), recording(net, golden) as rec:
        out = net(golden.input("mel"), golden.input("faces"))
    assert_outputs(golden, {"generated_face": out}, rec)
