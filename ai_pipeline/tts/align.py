"""Phoneme timings for a TTS engine that gives none, by aligning a reference voice to its audio.

RHVoice reports words, not phonemes. Festival or eSpeak NG, given the same sentence, report every
phoneme with its time. The two recordings say the same sounds in the same order at different speeds, so a
dynamic time warping (DTW) of their spectra maps each reference time onto the other audio:

1. both signals at 16 kHz -> MFCCs (25 ms windows, 10 ms hop, c1..c13 without energy), each
   coefficient normalised over the utterance (mean 0, variance 1) so that a male synthetic voice
   and a female one become comparable;
2. DTW over the Euclidean frame distances (steps: diagonal, down, right), one row at a time: within
   a row, ``D[j] = c[j] + min(A[j], D[j-1])`` with ``A[j] = min(D_prev[j-1], D_prev[j])`` unrolls
   to a running minimum over cumulative sums, so a row is a few numpy calls (a 10 s sentence, about
   1000 x 1000 cells, takes tens of milliseconds);
3. every reference mark's start and end moves to the mean target frame its reference frame is
   matched to; a п/б mark then moves (at most 40 ms) onto the quietest 10 ms near it, where the
   lips are closed.

The best reference is Festival's voice (recorded speech, so its spectra resemble RHVoice's); eSpeak
NG is the one used when Festival is missing.

The marks keep the reference engine's names, which the talking head's viseme table reads. Measured on the lip-sync
check in ``tests/ai_pipeline/test_rhvoice.py``: the mouth closes on п/б/м and opens on vowels as it
does with Festival's own segment times.
"""

from __future__ import annotations

import numpy as np
import soxr
from scipy.fft import dct

from ai_pipeline.chunks import PhonemeMark

RATE = 16_000
HOP = 160  # 10 ms
WIN = 400  # 25 ms
N_FFT = 512
N_MELS = 32
STOPS = ("p", "b")  # п/б: the lips closed and the sound silent; м sounds through the nose
SNAP_S = 0.04
MIN_S = 0.02  # the shortest mark kept
N_CEPS = 8  # c1..c8: the spectral envelope, little of the speaker
STEP_PENALTY = 0.5  # added to a non-diagonal step: keeps the path from long stalls


def _mel_filters() -> np.ndarray:
    """(N_MELS, N_FFT/2+1) triangular filters on the HTK mel scale, 60 Hz - 7600 Hz."""
    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(np.array(60.0)), mel(np.array(7600.0)), N_MELS + 2))
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


_FILTERS = _mel_filters()
_WINDOW = np.hamming(WIN)


def mfcc(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """(frames, N_CEPS) normalised MFCCs of mono float audio at any rate (one frame per 10 ms)."""
    audio = samples.astype(np.float32)
    if sample_rate != RATE:
        audio = soxr.resample(audio, sample_rate, RATE)
    audio = np.pad(audio, (WIN // 2, WIN // 2))
    n_frames = max(1, 1 + (len(audio) - WIN) // HOP)
    if len(audio) < WIN:
        audio = np.pad(audio, (0, WIN - len(audio)))
    index = np.arange(WIN)[None, :] + HOP * np.arange(n_frames)[:, None]
    frames = audio[index] * _WINDOW
    power = np.abs(np.fft.rfft(frames, N_FFT)) ** 2
    logmel = np.log(power @ _FILTERS.T + 1e-8)
    cepstrum = dct(logmel, type=2, norm="ortho", axis=1)
    ceps = np.concatenate([cepstrum[:, 1:N_CEPS + 1], cepstrum[:, :1]], axis=1)  # + log energy
    return (ceps - ceps.mean(axis=0)) / (ceps.std(axis=0) + 1e-6)


def dtw_path(ref: np.ndarray, target: np.ndarray, penalty: float = STEP_PENALTY) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost monotone path from (0, 0) to (N-1, M-1) as (ref frame, target frame) arrays.

    A step down or right costs ``penalty`` more than a diagonal one. With the penalty, a row is
    ``D[j] = c[j] + min(A[j], D[j-1] + p)``, which unrolls to ``S[j] + p*j + min over k <= j of
    (A[k] - S[k-1] - p*k)`` (S: the running sum of the row's costs).
    """
    cost = np.sqrt(np.maximum(
        (ref ** 2).sum(1)[:, None] + (target ** 2).sum(1)[None, :] - 2.0 * ref @ target.T, 0.0))
    n, m = cost.shape
    ramp = penalty * np.arange(m)
    total = np.empty((n, m))
    total[0] = np.cumsum(cost[0]) + ramp
    for i in range(1, n):
        prev = total[i - 1]
        best_above = np.empty(m)  # min(D[i-1, j-1], D[i-1, j] + p)
        best_above[0] = prev[0] + penalty
        np.minimum(prev[1:] + penalty, prev[:-1], out=best_above[1:])
        running = np.cumsum(cost[i])
        shifted = np.concatenate(([0.0], running[:-1]))
        total[i] = running + ramp + np.minimum.accumulate(best_above - shifted - ramp)
    i, j = n - 1, m - 1
    path_i, path_j = [i], [j]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            steps = (total[i - 1, j - 1], total[i - 1, j] + penalty, total[i, j - 1] + penalty)
            k = int(np.argmin(steps))
            i, j = (i - 1, j - 1) if k == 0 else (i - 1, j) if k == 1 else (i, j - 1)
        path_i.append(i)
        path_j.append(j)
    return np.array(path_i[::-1]), np.array(path_j[::-1])


def transfer_marks(marks: tuple[PhonemeMark, ...], ref_samples: np.ndarray, ref_rate: int,
                   target_samples: np.ndarray, target_rate: int) -> tuple[PhonemeMark, ...]:
    """``marks`` timed on the reference audio, re-timed onto the target audio of the same text."""
    if not marks or len(target_samples) == 0 or len(ref_samples) == 0:
        return ()
    ref, target = mfcc(ref_samples, ref_rate), mfcc(target_samples, target_rate)
    path_ref, path_target = dtw_path(ref, target)
    # the mean target frame of each reference frame (every reference frame is on the path)
    sums = np.bincount(path_ref, weights=path_target, minlength=len(ref))
    counts = np.maximum(np.bincount(path_ref, minlength=len(ref)), 1)
    frame_time = (sums / counts) * HOP / RATE
    duration = len(target_samples) / target_rate

    def moved(t: float) -> float:
        position = min(max(t * RATE / HOP, 0.0), len(ref) - 1.0)
        return float(min(np.interp(position, np.arange(len(ref)), frame_time), duration))

    spans = [[mark.phoneme, moved(mark.start), moved(mark.end)] for mark in marks]
    loudness = _frame_rms(target_samples, target_rate)
    for k, span in enumerate(spans):
        if span[0][:1].lower() in STOPS:
            lower = spans[k - 1][1] + MIN_S if k else 0.0  # the neighbours keep MIN_S each
            upper = spans[k + 1][2] - MIN_S if k + 1 < len(spans) else duration
            span[1], span[2] = _on_closure(loudness, span[1], span[2], lower, upper)
            if k:  # the neighbours give way to the closure
                spans[k - 1][2] = min(spans[k - 1][2], span[1])
            if k + 1 < len(spans):
                spans[k + 1][1] = max(spans[k + 1][1], span[2])
    return _keep_every_mark(spans, duration)


def _keep_every_mark(spans: list[list], duration: float) -> tuple[PhonemeMark, ...]:
    """Marks in order, none overlapping, each at least MIN_S long (a DTW stall can squeeze one to
    nothing; a dropped vowel would leave the mouth shut), all inside the audio."""
    starts = [float(s[1]) for s in spans]
    ends = [float(s[2]) for s in spans]
    for k in range(len(spans)):  # forward: no overlap, a minimum length
        if k:
            starts[k] = max(starts[k], ends[k - 1])
        ends[k] = max(ends[k], starts[k] + MIN_S)
    limit = duration
    for k in reversed(range(len(spans))):  # backward: back inside the audio
        ends[k] = min(ends[k], limit)
        starts[k] = min(starts[k], ends[k] - MIN_S)
        limit = starts[k]
    return tuple(PhonemeMark(spans[k][0], max(starts[k], 0.0), ends[k]) for k in range(len(spans))
                 if ends[k] > max(starts[k], 0.0))


def _frame_rms(samples: np.ndarray, rate: int) -> np.ndarray:
    hop = rate // 100
    n = len(samples) // hop
    return np.sqrt(np.mean(np.square(samples[:n * hop].reshape(n, hop), dtype=np.float64), axis=1))


def _on_closure(loudness: np.ndarray, start: float, end: float, lower: float, upper: float) -> tuple[float, float]:
    """Move a п/б span (keeping its length) onto the quietest 10 ms within ``SNAP_S`` of it: the
    lips are closed there. It stays within ``lower`` .. ``upper``."""
    if upper - lower < end - start:
        return start, end
    lo = max(int((start - SNAP_S) * 100), int(lower * 100), 0)
    hi = min(int((end + SNAP_S) * 100) + 1, int(upper * 100), len(loudness))
    if hi - lo < 2:
        return start, end
    dip = (lo + int(np.argmin(loudness[lo:hi])) + 0.5) / 100
    half = (end - start) / 2
    centre = min(max(dip, lower + half), upper - half)
    return centre - half, centre + half
