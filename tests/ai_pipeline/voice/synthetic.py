"""A synthetic voice with known parameters: a glottal pulse train through uniform-tube formants."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from ai_pipeline.chunks import AudioChunk


def vowel_train(f0: float, seconds: float = 3.0, rate: int = 16000, syllables_per_s: float = 4.0,
                spacing: float = 1000.0, glide_st: float = 0.0) -> AudioChunk:
    """Impulses at ``f0`` (optionally gliding +-``glide_st`` semitones at 0.5 Hz), glottal tilt, five
    resonances at (2i - 1) / 2 * ``spacing``, and a loudness swell per syllable."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 * 2.0 ** (glide_st * np.sin(2 * np.pi * 0.5 * t) / 12.0)
    phase = np.cumsum(pitch / rate)
    x = lfilter([1.0], [1.0, -0.97], np.diff(np.floor(phase), prepend=0.0))
    r = np.exp(-np.pi * 80 / rate)
    for i in range(1, 6):
        f = (2 * i - 1) / 2 * spacing
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / rate), r * r], x)
    x = x * (0.55 - 0.45 * np.cos(2 * np.pi * syllables_per_s * t))
    return AudioChunk((0.3 * x / np.abs(x).max()).astype(np.float32), rate)
