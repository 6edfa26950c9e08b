"""Audio (and, when the TTS gives them, phoneme timings) -> mouth shape per video frame.

A mouth shape is three numbers in [0, 1]: ``open`` (jaw and lips), ``wide`` (spread lips: и, е)
and ``round`` (rounded lips: о, у), plus a fourth, ``closed``: 1 where the lips must meet (п/б/м).
Phonemes give the target shape (visemes): closed on п/б/м, rounded on о/у, wide on и/е; the lips
take each shape ``LEAD_S`` before its sound (co-articulation); loudness scales how far the mouth
opens, and ``SILENT_S`` of silence closes it. Without phonemes the shape comes from loudness and the
spectral centroid alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai_pipeline.chunks import PhonemeMark


@dataclass(frozen=True)
class Viseme:
    open: float
    wide: float = 0.0
    round: float = 0.0


REST = Viseme(0.0)
CLOSED = Viseme(0.0)
# First letter of a phoneme name (festival: "aa", "oo", "pp"...; espeak: "a", "V", "p;"...)
VOWELS = {
    "a": Viseme(0.9, wide=0.25), "v": Viseme(0.75, wide=0.15),  # espeak "V" is a reduced "a"
    "@": Viseme(0.55, wide=0.15), "o": Viseme(0.65, round=0.75), "u": Viseme(0.35, round=1.0),
    "i": Viseme(0.35, wide=0.85), "e": Viseme(0.55, wide=0.6), "y": Viseme(0.4, wide=0.45),
}
CONSONANTS = {
    "p": CLOSED, "b": CLOSED, "m": CLOSED,
    "f": Viseme(0.1, wide=0.1), "v": Viseme(0.1, wide=0.1),
    "w": Viseme(0.2, round=0.6),
    "s": Viseme(0.18, wide=0.45), "z": Viseme(0.18, wide=0.45), "c": Viseme(0.2, wide=0.3),
    "t": Viseme(0.22, wide=0.2), "d": Viseme(0.22, wide=0.2), "n": Viseme(0.22, wide=0.2),
    "l": Viseme(0.3, wide=0.15), "r": Viseme(0.3), "j": Viseme(0.25, wide=0.4),
    "k": Viseme(0.3), "g": Viseme(0.3), "x": Viseme(0.3), "h": Viseme(0.3),
    "S": Viseme(0.2, round=0.45), "Z": Viseme(0.2, round=0.45),
}
POSTALVEOLARS = ("sh", "zh", "ch", "tS", "S", "Z")  # ш ж ч: lips pushed forward
SILENCE = {"pau", "_", "sil", "#", "h#", ""}
GLIDE = Viseme(0.25, wide=0.35)
LEAD_S = 0.06  # lips round or spread for the next sound this much ahead of it
JAW_LEAD_S = 0.03  # the jaw opens only a little ahead of the sound
CLOSE_LEAD_S = 0.02  # lips meet this much before п/б/м
SILENT_S = 0.12  # after this much silence the mouth is closed


def viseme_for(phoneme: str) -> Viseme:
    """Map a festival or espeak phoneme name to a mouth shape.

    festival: doubled vowels are stressed, doubled consonants palatalised; ae/ay/ur are vowels,
    c/ch/sch/h/j are ц/ч/щ/х/й. espeak: V, @, 8 are vowels, ja/ju are я/ю, a bare ";" is a palatal
    off-glide, a trailing ";" marks palatalisation and ' , : mark stress and length.
    """
    name = phoneme.strip()
    if name.lower() in SILENCE or name.startswith("_"):
        return REST
    if name == ";":
        return GLIDE
    if name.startswith("8"):
        return VOWELS["o"]
    letters = [ch for ch in name if ch.isalpha() or ch == "@"]
    if not letters:
        return REST
    first = letters[0]
    if name.startswith(POSTALVEOLARS):
        return CONSONANTS["S"]
    if first == "j" and len(letters) > 1 and letters[1] in "au":  # espeak ja / ju
        return VOWELS[letters[1]]
    low = first.lower()
    if first == "V" or (low in VOWELS and low != "v"):
        return VOWELS["v" if first == "V" else low]
    if first in ("I", "E", "O", "U", "A"):
        return VOWELS[low]
    return CONSONANTS.get(low, Viseme(0.25))


def loudness_envelope(samples: np.ndarray, sample_rate: int, fps: int, n_frames: int) -> np.ndarray:
    """Per-frame loudness in [0, 1]: 0 in silence, ~1 on the loudest speech of the clip."""
    hop = sample_rate / fps
    win = int(hop * 1.5)
    db = np.full(n_frames, -120.0, dtype=np.float64)
    for i in range(n_frames):
        centre = int((i + 0.5) * hop)
        seg = samples[max(0, centre - win // 2): centre + win // 2]
        if len(seg):
            db[i] = 10 * np.log10(float(np.mean(np.square(seg, dtype=np.float64))) + 1e-12)
    peak = np.percentile(db, 95) if n_frames else -120.0
    floor = max(peak - 30.0, -55.0)
    if peak <= -55.0:  # the whole clip is silence
        return np.zeros(n_frames, dtype=np.float32)
    env = np.clip((db - floor) / max(peak - floor, 1e-6), 0.0, 1.0)
    return env.astype(np.float32)


def spectral_shape(samples: np.ndarray, sample_rate: int, fps: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Rough (wide, round) per frame from the spectral centroid, for audio without phonemes."""
    hop = sample_rate / fps
    n_fft = 1 << int(np.ceil(np.log2(hop * 1.5)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    band = (freqs > 250) & (freqs < 4000)
    window = np.hanning(n_fft)
    centroid = np.full(n_frames, 1200.0)
    for i in range(n_frames):
        start = int((i + 0.5) * hop) - n_fft // 2
        seg = samples[max(0, start): start + n_fft]
        if len(seg) < n_fft:
            seg = np.pad(seg, (0, n_fft - len(seg)))
        spec = np.abs(np.fft.rfft(seg * window))[band]
        if spec.sum() > 1e-6:
            centroid[i] = float((freqs[band] * spec).sum() / spec.sum())
    wide = np.clip((centroid - 1300) / 1200, 0, 1)
    rnd = np.clip((1100 - centroid) / 500, 0, 1)
    return wide.astype(np.float32), rnd.astype(np.float32)


def _smooth(x: np.ndarray, attack: float, release: float) -> np.ndarray:
    """Asymmetric one-pole smoothing, run forward and backward for zero phase lag."""
    def one_way(v: np.ndarray) -> np.ndarray:
        out = np.empty_like(v)
        acc = float(v[0]) if len(v) else 0.0
        for i, target in enumerate(v):
            k = attack if target > acc else release
            acc += k * (float(target) - acc)
            out[i] = acc
        return out
    if len(x) == 0:
        return x
    return (one_way(x) + one_way(x[::-1])[::-1]) / 2


def mouth_track(samples: np.ndarray, sample_rate: int, fps: int, n_frames: int,
                phonemes: tuple[PhonemeMark, ...] = (), gain: float = 1.0) -> np.ndarray:
    """(n_frames, 4) array of (open, wide, round, closed) for a clip."""
    env = loudness_envelope(samples, sample_rate, fps, n_frames)
    closed = np.zeros(n_frames, dtype=bool)
    if phonemes:
        # the jaw opens with the sound (a little ahead), the lips round or spread well ahead of it
        targets = np.stack([_visemes(phonemes, fps, n_frames, JAW_LEAD_S)[:, 0],
                            *_visemes(phonemes, fps, n_frames, LEAD_S)[:, 1:].T], axis=1)
        closed = _bilabial_frames(phonemes, fps, n_frames)
        # 40 % the phoneme's target (scaled by loudness), 60 % the loudness itself: a vowel of 40 ms
        # between two closures still opens the mouth at 25 fps, and a phoneme time a little off
        # costs little; п/б/м always close it. Loudness is in dB (env), so its powers open the mouth
        # about in proportion to the sound pressure, as a speaker's jaw does
        shaped = targets[:, 0] * np.power(env, 1.5) * (env > 0.02)
        opening = np.where(closed, 0.0, 0.4 * shaped + 0.6 * 0.85 * np.square(env))
        track = np.stack([opening, targets[:, 1], targets[:, 2]], axis=1)
    else:
        wide, rnd = spectral_shape(samples, sample_rate, fps, n_frames)
        opening = 0.85 * np.power(env, 0.8)
        track = np.stack([opening, wide * (env > 0.05), rnd * (env > 0.05)], axis=1)
    track[:, 0] = np.clip(track[:, 0] * gain, 0.0, 1.0)
    out = np.stack([_smooth(track[:, k], 0.85, 0.7) for k in range(3)], axis=1)
    # the lips meet on п/б/м whatever the smoothing made of the frames around them
    out[closed, 0] = 0.0
    # and stay shut once the sound has stopped for SILENT_S
    quiet = env < 0.02
    run = max(1, int(round(SILENT_S * fps)))
    shut = np.array([quiet[max(0, i - run + 1): i + 1].all() and i >= run - 1 for i in range(n_frames)], dtype=bool)
    out[shut, 0] = 0.0
    return np.concatenate([out, closed[:, None]], axis=1).astype(np.float32)


def _visemes(phonemes: tuple[PhonemeMark, ...], fps: int, n_frames: int, lead: float) -> np.ndarray:
    """(n_frames, 3) target (open, wide, round) of the phoneme sounding ``lead`` seconds after each frame."""
    targets = np.zeros((n_frames, 3), dtype=np.float32)
    times = (np.arange(n_frames) + 0.5) / fps + lead
    starts = np.array([p.start for p in phonemes])
    idx = np.searchsorted(starts, times, side="right") - 1
    for i, j in enumerate(idx):
        if 0 <= j < len(phonemes) and times[i] < phonemes[j].end + 0.02:
            v = viseme_for(phonemes[j].phoneme)
            targets[i] = (v.open, v.wide, v.round)
    return targets


def _bilabial_frames(phonemes: tuple[PhonemeMark, ...], fps: int, n_frames: int) -> np.ndarray:
    """Frames where the lips are shut for п/б/м: from ``CLOSE_LEAD_S`` before the phoneme to its end, and
    at least the frame holding its middle (a short one may fall between two frame centres)."""
    closed = np.zeros(n_frames, dtype=bool)
    centres = (np.arange(n_frames) + 0.5) / fps
    for p in phonemes:
        if viseme_for(p.phoneme).open != 0.0 or p.phoneme.strip()[:1].lower() not in "pbm":
            continue
        closed |= (centres >= p.start - CLOSE_LEAD_S) & (centres < p.end)
        mid = int((p.start + p.end) / 2 * fps)
        if 0 <= mid < n_frames:
            closed[mid] = True
    return closed
