"""Signal measurements for voice enrolment: loudness, peak, clipping, noise floor, tonal stationarity.

All functions are pure numpy/scipy on mono float32 in [-1, 1]. Frame-level measures work on the
Silero VAD grid (32 ms windows of 512 samples at 16 kHz) so that speech probabilities and frame
energies line up one to one.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

CLIP_LEVEL = 0.99  # a sample this close to full scale counts as clipped (lossy codecs overshoot a bit)
SILENCE_DBFS = -60.0  # a file whose peak stays below this is silence
SNR_CAP_DB = 60.0  # digital silence between phrases would make the ratio infinite
STABLE_LAG = 6  # frames (192 ms): a held musical note still has the same spectral peaks, speech does not
STABLE_COS = 0.5


def peak_dbfs(samples: np.ndarray) -> float | None:
    """Highest absolute sample in dB full scale; None for an empty or all-zero signal."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return round(20 * np.log10(peak), 2) if peak > 0 else None


def clipping_pct(samples: np.ndarray) -> float:
    """Share of samples at (or within 1% of) full scale, in percent."""
    if samples.size == 0:
        return 0.0
    return float(np.count_nonzero(np.abs(samples) >= CLIP_LEVEL)) * 100.0 / samples.size


def integrated_loudness(samples: np.ndarray, rate: int) -> float | None:
    """ITU-R BS.1770-4 gated loudness in LUFS; None when shorter than one 400 ms block or silent."""
    import pyloudnorm

    if samples.size < int(0.4 * rate) + 1:
        return None
    value = float(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)))
    return round(value, 2) if np.isfinite(value) else None


def normalise(samples: np.ndarray, loudness: float | None, target_lufs: float,
              max_peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale to ``target_lufs`` given the measured ``loudness``; the gain is lowered where it would
    push the peak over ``max_peak_dbfs`` (never clips, never compresses)."""
    if loudness is None or samples.size == 0:
        return samples
    gain = 10 ** ((target_lufs - loudness) / 20)
    peak = float(np.max(np.abs(samples)))
    if peak > 0:
        gain = min(gain, 10 ** (max_peak_dbfs / 20) / peak)
    return (samples * gain).astype(np.float32)


def frame_power(samples16k: np.ndarray, n_frames: int, window: int = 512) -> np.ndarray:
    """Mean square of each of the first ``n_frames`` windows."""
    frames = samples16k[: n_frames * window].reshape(n_frames, window).astype(np.float64)
    return np.mean(frames**2, axis=1) + 1e-12


def snr_db(power: np.ndarray, speech: np.ndarray, noise: np.ndarray) -> float | None:
    """Speech level over the noise floor, in dB.

    ``speech`` and ``noise`` are boolean frame masks (confident speech / confident non-speech).
    With less than a second of pauses, the quietest speech frames (gaps between words) stand in
    for the floor, which underestimates the ratio rather than flattering it.
    """
    if not speech.any():
        return None
    level = float(np.mean(power[speech]))
    if np.count_nonzero(noise) >= 30:
        floor = float(np.median(power[noise]))
    else:
        floor = float(np.percentile(power[speech], 5))
    return round(min(SNR_CAP_DB, 10 * np.log10(level / max(floor, 1e-12))), 1)


def active_frames(power: np.ndarray, dynamic_db: float = 50.0, floor_dbfs: float = -70.0) -> np.ndarray:
    """Frames with any sound: within ``dynamic_db`` of the loudest frame and above ``floor_dbfs``."""
    if power.size == 0:
        return np.zeros(0, bool)
    db = 10 * np.log10(power)
    return db > max(float(db.max()) - dynamic_db, floor_dbfs)


def spectral_stability(samples16k: np.ndarray, n_frames: int, window: int = 512) -> np.ndarray:
    """Per frame: does its harmonic fine structure survive ~200 ms later? (bool, length ``n_frames``).

    Music holds notes: the peaks of the spectrum (log spectrum minus its smoothed envelope) stay
    in place for hundreds of milliseconds. Speech moves pitch and formants from syllable to
    syllable, so the same comparison finds a different pattern. Noise has no stable peaks either.
    Measured on real TTS speech about 5% of frames are stable; held-note music 35-90%.
    """
    stable = np.zeros(n_frames, bool)
    if n_frames <= STABLE_LAG:
        return stable
    frames = samples16k[: n_frames * window].reshape(n_frames, window).astype(np.float64)
    spectra = np.abs(np.fft.rfft(frames * np.hanning(window), axis=1))[:, 3:200]  # ~90 Hz .. 6.2 kHz
    logs = np.log(spectra + 1e-6 * float(spectra.max()) + 1e-12)
    fine = np.maximum(logs - uniform_filter1d(logs, 9, axis=1), 0.0)
    a, b = fine[:-STABLE_LAG], fine[STABLE_LAG:]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-9)
    stable[:-STABLE_LAG] = cos > STABLE_COS
    return stable


def spectral_flatness(samples16k: np.ndarray, n_frames: int, window: int = 512) -> np.ndarray:
    """Wiener entropy per frame (0 tonal .. 1 white noise)."""
    frames = samples16k[: n_frames * window].reshape(n_frames, window).astype(np.float64)
    power = np.abs(np.fft.rfft(frames * np.hanning(window), axis=1))[:, 3:200] ** 2 + 1e-12
    return np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
