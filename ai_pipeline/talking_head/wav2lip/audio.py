"""Wav2Lip's mel-spectrogram front end (the published hyper-parameters), in numpy.

16 kHz audio, pre-emphasis 0.97, STFT n_fft 800 / hop 200 / Hann window 800 (centred, reflect
padding, as librosa did when the models were trained), 80 Slaney mel bands 55-7600 Hz, amplitude to
dB with a -100 dB floor, minus the 20 dB reference level, scaled symmetrically to [-4, 4].
80 mel frames per second; the generator sees a window of 16 (0.2 s) starting at each video frame.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import lfilter, resample_poly

SAMPLE_RATE = 16000
N_FFT, HOP, WIN = 800, 200, 800
N_MELS, FMIN, FMAX = 80, 55.0, 7600.0
PREEMPHASIS = 0.97
REF_LEVEL_DB, MIN_LEVEL_DB, MAX_ABS = 20.0, -100.0, 4.0
MEL_STEPS = 16  # mel frames per generator window
MELS_PER_SECOND = SAMPLE_RATE / HOP  # 80


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's auditory scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, hz / f_sp)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), mel * f_sp)


@lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """(80, n_fft/2 + 1) triangular filters, area-normalised (Slaney), like ``librosa.filters.mel``."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    mel_pts = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2))
    fdiff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2:] - mel_pts[:-2]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN) / WIN)).astype(np.float64)  # periodic Hann


def stft_magnitude(wav: np.ndarray) -> np.ndarray:
    """|STFT| (n_fft/2 + 1, frames), centred frames with reflect padding."""
    y = np.pad(np.asarray(wav, dtype=np.float64), N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(y) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    return np.abs(np.fft.rfft(y[idx] * _window()[None, :], axis=1)).T


def melspectrogram(wav: np.ndarray) -> np.ndarray:
    """(80, frames) normalised log-mel of 16 kHz mono audio, values in [-4, 4]."""
    wav = np.asarray(wav, dtype=np.float64)
    if len(wav) < N_FFT // 2 + 1:  # reflect padding needs a few samples
        wav = np.pad(wav, (0, N_FFT // 2 + 1 - len(wav)))
    emphasised = lfilter([1, -PREEMPHASIS], [1], wav)
    mel = mel_basis().astype(np.float64) @ stft_magnitude(emphasised)
    min_level = np.exp(MIN_LEVEL_DB / 20 * np.log(10))
    db = 20 * np.log10(np.maximum(min_level, mel)) - REF_LEVEL_DB
    norm = 2 * MAX_ABS * ((db - MIN_LEVEL_DB) / -MIN_LEVEL_DB) - MAX_ABS
    return np.clip(norm, -MAX_ABS, MAX_ABS).astype(np.float32)


def to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample mono float audio to 16 kHz (polyphase)."""
    if rate == SAMPLE_RATE:
        return np.asarray(samples, dtype=np.float32)
    g = np.gcd(int(rate), SAMPLE_RATE)
    return resample_poly(np.asarray(samples, dtype=np.float64), SAMPLE_RATE // g, int(rate) // g).astype(np.float32)


def mel_windows(samples: np.ndarray, rate: int, fps: int, n_frames: int) -> np.ndarray:
    """(n_frames, 1, 80, 16): for video frame i the 16 mel frames starting at i * 80 / fps.

    The audio is padded with silence past its end so the last frames get full windows (the
    published inference repeats the last window instead; silence is what actually follows).
    """
    wav = to_16k(samples, rate)
    need = int(np.ceil((n_frames / fps + MEL_STEPS / MELS_PER_SECOND) * SAMPLE_RATE)) + HOP
    if len(wav) < need:
        wav = np.pad(wav, (0, need - len(wav)))
    mel = melspectrogram(wav)
    starts = (np.arange(n_frames) * (MELS_PER_SECOND / fps)).astype(np.int64)
    idx = starts[:, None] + np.arange(MEL_STEPS)[None, :]
    return mel[:, idx].transpose(1, 0, 2)[:, None].copy()
