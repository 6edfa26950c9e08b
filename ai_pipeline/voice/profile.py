"""Estimate a :class:`VoiceProfile` (pitch, speaking rate, formant spacing) from speech, with Praat.

All measures are pooled over utterances and use medians or quantiles, so a cough or a badly
tracked frame does not move them:

* **pitch**: Praat's autocorrelation tracker in two passes (a wide 50-700 Hz search, then a range
  fitted to the speaker from the first pass's quartiles, as De Looze & Hirst suggest); the median
  in Hz and the standard deviation of log-pitch in semitones;
* **speaking rate**: syllable nuclei per second of phonation (De Jong & Wempe 2009): intensity
  peaks at least ``MIN_DIP_DB`` above the dip before them, above a silence threshold, and voiced;
* **formant spacing**: Praat's Burg formant tracker on voiced frames; per frame the spacing
  ``dF`` of a uniform tube that best fits F1-F4 (``F_i = (2i - 1) / 2 * dF``, Reby & McComb 2003),
  and the median over frames. ``dF`` is inversely proportional to vocal tract length, which is what
  a formant shift changes, so ``target.formant_hz / source.formant_hz`` is the shift ratio. The
  tracker's ceiling biases ``dF`` towards ``ceiling / 5``, so the ceiling is fitted to the speaker:
  bisection for ``ceiling = 5 * dF(ceiling)`` (a uniform tube has F5 at 4.5 dF and F6 at 5.5 dF).
  On a recording shifted by sox ``pitch 300`` (x1.19) this recovers x1.18-1.20.
"""

from __future__ import annotations

import json
import os
import threading
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import InputError
from ai_pipeline.voice.base import Voice, VoiceProfile

MAX_ANALYSED_S = 60.0  # a longer set is sampled evenly: the medians are stable long before this
SILENCE_DB = 25.0  # below the 99th intensity percentile: silence
MIN_DIP_DB = 2.0  # an intensity peak must stand this far above the dip before it to be a syllable
MIN_PAUSE_S = 0.3  # shorter quiet stretches count as phonation
CEILING_RANGE_HZ = (3500.0, 8000.0)
CEILING_PER_SPACING = 5.0
_TUBE = np.array([0.5, 1.5, 2.5, 3.5])  # F_i / dF for a uniform tube closed at one end
# Praat keeps process-wide state (its error buffer, among others) and is not documented as thread
# safe: every call into it is serialised, one utterance or one chunk at a time.
PRAAT_LOCK = threading.Lock()


def read_wav(path: Path) -> AudioChunk:
    """A mono PCM16 WAV (the prepared utterances) as float32."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise InputError("Неподдерживаемый формат записи голоса.", f"{path}: expected 16-bit PCM")
        raw = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        channels, rate = wav.getnchannels(), wav.getframerate()
    samples = raw.reshape(-1, channels).mean(axis=1) if channels > 1 else raw
    return AudioChunk((samples / 32768.0).astype(np.float32), rate)


def load_utterances(paths: Sequence[Path], max_seconds: float = MAX_ANALYSED_S) -> list[AudioChunk]:
    """Read prepared utterances, evenly sampled so that about ``max_seconds`` are kept."""
    chunks: list[AudioChunk] = []
    total = 0.0
    durations = [_wav_duration(p) for p in paths]
    step = max(1.0, sum(durations) / max_seconds) if durations else 1.0
    position = 0.0
    for index, path in enumerate(paths):
        if index < int(position):
            continue
        position += step
        chunk = read_wav(path)
        chunks.append(chunk)
        total += chunk.duration
        if total >= max_seconds * 1.05:
            break
    return chunks


def _wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


def voice_profile(voice: Voice, max_seconds: float = MAX_ANALYSED_S) -> VoiceProfile:
    """The profile of an enrolled voice, from its prepared utterances."""
    paths = voice.prepared
    if not paths:
        raise InputError("У голоса нет подготовленных записей: добавьте образцы речи.",
                         f"Voice {voice.key} has no prepared utterances", code="voice_not_ready")
    return estimate_profile(load_utterances(paths, max_seconds))


def estimate_profile(utterances: Iterable[AudioChunk]) -> VoiceProfile:
    """Pitch, rate and formant statistics pooled over ``utterances`` (blocking, ~0.1 s per speech s)."""
    import parselmouth

    sounds = [parselmouth.Sound(c.samples.astype(np.float64), sampling_frequency=c.sample_rate)
              for c in utterances if c.duration >= 0.2]
    if not sounds:
        raise InputError("Слишком мало речи для оценки голоса.", "No utterance long enough", code="voice_not_ready")
    floor, ceiling = _pitch_range(sounds)
    f0_all, voiced_times, nuclei, phonation = [], [], 0, 0.0
    for sound in sounds:
        with PRAAT_LOCK:
            pitch = sound.to_pitch_ac(time_step=0.01, pitch_floor=floor, pitch_ceiling=ceiling)
            intensity = sound.to_intensity(minimum_pitch=max(floor, 50.0), time_step=0.01)
        f0 = _voiced(pitch)
        f0_all.append(f0)
        voiced_times.append(pitch.xs()[pitch.selected_array["frequency"] > 0])
        count, sounding = _syllable_nuclei(intensity, pitch)
        nuclei += count
        phonation += sounding
    f0 = np.concatenate(f0_all)
    if len(f0) < 20:
        raise InputError("В записях голоса почти нет звонкой речи.", "Too few voiced frames", code="voice_not_ready")
    median = float(np.median(f0))
    semitones = 12.0 * np.log2(f0 / median)
    formant, formant_ceiling = _formant_scale(sounds, voiced_times)
    return VoiceProfile(
        f0_median_hz=round(median, 2),
        f0_spread_st=round(float(np.std(semitones)), 3),
        rate_sps=round(nuclei / phonation, 3) if phonation > 0 else 0.0,
        formant_hz=round(formant, 1),
        extra={"f0_p05_hz": round(float(np.percentile(f0, 5)), 2), "f0_p95_hz": round(float(np.percentile(f0, 95)), 2),
               "voiced_s": round(len(f0) * 0.01, 2), "phonation_s": round(phonation, 2),
               "formant_ceiling_hz": round(formant_ceiling, 1)},
    )


def _voiced(pitch) -> np.ndarray:  # type: ignore[no-untyped-def]
    f0 = pitch.selected_array["frequency"]
    return f0[f0 > 0]


def _pitch_range(sounds: list) -> tuple[float, float]:  # type: ignore[type-arg]
    """A pitch search range fitted to the speaker: [0.75 * q25, 1.5 * q75] of a wide first pass."""
    f0_all = []
    for sound in sounds:
        with PRAAT_LOCK:
            f0_all.append(_voiced(sound.to_pitch_ac(time_step=0.02, pitch_floor=50.0, pitch_ceiling=700.0)))
    f0 = np.concatenate(f0_all)
    if len(f0) < 10:
        return 50.0, 700.0
    q25, q75 = np.percentile(f0, [25, 75])
    return float(max(40.0, 0.75 * q25)), float(min(900.0, max(1.5 * q75, 2.0 * 0.75 * q25)))


def _syllable_nuclei(intensity, pitch) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """(voiced intensity peaks, seconds of phonation) of one utterance."""
    db = intensity.values[0]
    times = intensity.xs()
    if len(db) < 3:
        return 0, 0.0
    threshold = np.percentile(db, 99) - SILENCE_DB
    sounding = _fill_short_gaps(db > threshold, int(MIN_PAUSE_S / 0.01))
    peaks = [i for i in range(1, len(db) - 1) if db[i] > db[i - 1] and db[i] >= db[i + 1] and db[i] > threshold]
    count, last = 0, None
    for i in peaks:
        if last is not None:
            dip = float(db[last:i + 1].min())
            if db[i] - dip < MIN_DIP_DB:  # same nucleus: keep the higher peak
                if db[i] > db[last]:
                    last = i
                continue
            count += _is_voiced(pitch, times[last])
        last = i
    if last is not None:
        count += _is_voiced(pitch, times[last])
    return count, float(sounding.sum()) * 0.01


def _is_voiced(pitch, t: float) -> int:  # type: ignore[no-untyped-def]
    value = pitch.get_value_at_time(t)
    return int(value == value and value > 0)  # NaN when unvoiced


def _fill_short_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Treat quiet runs shorter than ``max_gap`` frames between sounding frames as sounding."""
    out = mask.copy()
    idx = np.flatnonzero(mask)
    if len(idx) < 2:
        return out
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= max_gap:
            out[a:b] = True
    return out


def _formant_scale(sounds: list, voiced_times: list[np.ndarray]) -> tuple[float, float]:  # type: ignore[type-arg]
    """(median formant spacing, the tracker ceiling it was measured with), ceiling fitted by bisection."""
    lo, hi = CEILING_RANGE_HZ
    spacing = 0.0
    for _ in range(7):  # 4500 Hz range -> ~35 Hz
        mid = 0.5 * (lo + hi)
        spacing = _median_spacing(sounds, voiced_times, mid)
        if spacing <= 0:
            return 0.0, mid
        if mid / spacing < CEILING_PER_SPACING:
            lo = mid
        else:
            hi = mid
    ceiling = 0.5 * (lo + hi)
    return _median_spacing(sounds, voiced_times, ceiling), ceiling


def _median_spacing(sounds: list, voiced_times: list[np.ndarray], ceiling: float) -> float:  # type: ignore[type-arg]
    spacing = np.concatenate([_formant_spacing(s, t, ceiling) for s, t in zip(sounds, voiced_times)])
    return float(np.median(spacing)) if len(spacing) >= 10 else 0.0


def _formant_spacing(sound, times: np.ndarray, ceiling: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """At each of ``times``, the uniform-tube spacing fitted to F1-F4 (frames with four rising formants)."""
    from parselmouth.praat import call

    with PRAAT_LOCK:
        formant = sound.to_formant_burg(time_step=0.01, max_number_of_formants=5.0, maximum_formant=ceiling,
                                        window_length=0.025)
        tracks = np.stack([call(formant, "To Matrix", i).values[0] for i in (1, 2, 3, 4)], axis=1)
    frames = np.clip(np.round((times - formant.t1) / formant.dt).astype(int), 0, len(tracks) - 1)
    f = tracks[frames] if len(times) else np.zeros((0, 4))
    ok = np.all(np.isfinite(f), axis=1) & np.all(f > 0, axis=1) & np.all(np.diff(f, axis=1) > 0, axis=1)
    return f[ok] @ _TUBE / (_TUBE @ _TUBE)


def write_profile(voice: Voice, profile: VoiceProfile) -> None:
    """``profile.json`` of the voice version (written atomically)."""
    path = voice.folder / "profile.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(profile.to_dict(), indent=1))
    os.replace(tmp, path)
