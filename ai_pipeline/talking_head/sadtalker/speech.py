"""What SadTalker's speech networks read, built as its ``generate_batch.py`` builds it.

- :func:`mel_windows`: the audio cut (or padded with silence) to whole 25 fps frames, Wav2Lip's mel
  front end (SadTalker's ``audio.py`` and hyper-parameters are Wav2Lip's), and for video frame ``i``
  the 16 mel columns from ``int(80 * (i - 2) / 25)``, clamped to the spectrogram (a window that
  starts two frames early, unlike Wav2Lip's own);
- :func:`blink_ratios`: the eye-blink signal ExpNet is conditioned on, upstream's random schedule
  (a 5-frame blink 0.5, 0.9, 1, 0.9, 0.5 every 10 to 70 frames) drawn from a seeded generator.
"""

from __future__ import annotations

import numpy as np

from ai_pipeline.talking_head.wav2lip.audio import MEL_STEPS, MELS_PER_SECOND, SAMPLE_RATE, melspectrogram, to_16k

FPS = 25  # SadTalker's networks were trained on 25 fps video
BLINK = (0.5, 0.9, 1.0, 0.9, 0.5)


def mel_windows(samples: np.ndarray, rate: int, n_frames: int) -> np.ndarray:
    """(n_frames, 1, 80, 16) mel windows of mono ``samples`` at ``rate``."""
    wav = to_16k(samples, rate)
    length = int(n_frames * SAMPLE_RATE / FPS)
    wav = wav[:length] if len(wav) >= length else np.pad(wav, (0, length - len(wav)))
    mel = melspectrogram(wav)  # (80, columns)
    starts = (MELS_PER_SECOND * (np.arange(n_frames) - 2) / FPS).astype(np.int64)  # int() truncates to 0
    idx = np.clip(starts[:, None] + np.arange(MEL_STEPS)[None, :], 0, mel.shape[1] - 1)
    return mel[:, idx].transpose(1, 0, 2)[:, None].astype(np.float32)


def blink_ratios(n_frames: int, seed: int = 0) -> np.ndarray:
    """(n_frames, 1) blink amounts in [0, 1]; none in clips of 20 frames or fewer (as upstream)."""
    ratio = np.zeros((n_frames, 1), np.float32)
    if n_frames <= 20:
        return ratio
    rng = np.random.default_rng(seed)
    frame = 0
    lo, hi = min(10, n_frames), min(n_frames // 2, 70)
    while True:
        start = int(rng.integers(lo, hi)) if hi > lo else lo
        if frame + start + len(BLINK) > n_frames - 1:
            return ratio
        ratio[frame + start:frame + start + len(BLINK), 0] = BLINK
        frame += start + len(BLINK)
