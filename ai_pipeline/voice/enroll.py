"""Enrolment: uploaded recordings -> quality report + loudness-normalised speech utterances.

One file is decoded to mono at :data:`PREPARED_RATE`, measured (loudness, peak, clipping, noise),
and cut into 1-15 s utterances where Silero VAD hears speech. The VAD runs on a 16 kHz copy; its
32 ms windows map to 768-sample stretches of the 24 kHz signal, so cuts land at the same times.

Garbage is refused with a reason the user can act on: silence, noise with no speech in it, music
(no speech and held notes: see :func:`quality.spectral_stability`), too much noise under the speech,
far too quiet, clipped throughout. Individual bad stretches (clipped phrases, sung or music-only
phrases) are dropped while the rest of the file is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from ai_pipeline.asr.vad import WINDOW, SileroVAD
from ai_pipeline.errors import InputError
from ai_pipeline.media.audio_io import decode_audio
from ai_pipeline.voice import quality
from ai_pipeline.voice.base import PREPARED_RATE, FileQuality, VoiceReport

FRAME = WINDOW * PREPARED_RATE // 16_000  # 768 samples at 24 kHz = one 32 ms VAD window
FRAME_S = FRAME / PREPARED_RATE
TARGET_LUFS = -20.0
MAX_FILE_SECONDS = 20 * 60.0
MIN_UTTERANCE_S, MAX_UTTERANCE_S = 1.0, 15.0
MERGE_GAP_S = 0.8  # speech separated by a shorter pause stays in one utterance
JOIN_GAP_S = 3.0  # a too-short phrase is joined to a neighbour this close (the pause is cut out)
PAD_S = 0.15
NEAR_SPEECH = round(1.0 / FRAME_S)  # frames: pauses this close to speech give its noise floor
SPEECH_ON, SPEECH_OFF, PAUSE_OFF = 0.5, 0.35, 0.2
MIN_PAUSE_S, MIN_SPEECH_S = 0.25, 0.25

# decisions (see tests/ai_pipeline/voice/test_enroll.py for the signals they were checked on)
MUSIC_STABLE = 0.25  # share of stable frames in sound without speech: held notes, i.e. music
UTTERANCE_STABLE = 0.4  # a "speech" phrase this stationary is singing or music
NOISE_FLATNESS = 0.1
SNR_REJECT_DB, SNR_WARN_DB = 10.0, 20.0
LUFS_REJECT, LUFS_WARN = -55.0, -40.0
CLIP_WARN_PCT, CLIP_UTTERANCE_PCT = 0.1, 1.0


@dataclass(frozen=True)
class FileAnalysis:
    """The report of one file and its prepared utterances (float32 at PREPARED_RATE)."""

    quality: FileQuality
    utterances: tuple[np.ndarray, ...] = ()


def speech_segments(probs: np.ndarray) -> list[tuple[int, int]]:
    """Speech runs ``[start, end)`` in VAD frames, with hysteresis: a run starts at p >= 0.5 and
    ends after ``MIN_PAUSE_S`` below 0.35; runs shorter than ``MIN_SPEECH_S`` (clicks) are dropped."""
    min_pause = round(MIN_PAUSE_S / FRAME_S)
    min_speech = round(MIN_SPEECH_S / FRAME_S)
    segments: list[tuple[int, int]] = []
    start, quiet = -1, 0
    for i, p in enumerate(probs):
        if start < 0:
            if p >= SPEECH_ON:
                start, quiet = i, 0
        elif p < SPEECH_OFF:
            quiet += 1
            if quiet >= min_pause:
                segments.append((start, i - quiet + 1))
                start = -1
        else:
            quiet = 0
    if start >= 0:
        segments.append((start, len(probs) - quiet))
    return [(s, e) for s, e in segments if e - s >= min_speech]


def _split_long(segments: list[tuple[int, int]], probs: np.ndarray, max_frames: int) -> list[tuple[int, int]]:
    """Cut runs longer than ``max_frames`` at their least speech-like moment in the second half."""
    smooth = uniform_filter1d(probs.astype(np.float32), 5) if probs.size else probs
    out: list[tuple[int, int]] = []
    for start, end in segments:
        while end - start > max_frames:
            lo, hi = start + max_frames // 2, start + max_frames
            cut = lo + int(np.argmin(smooth[lo:hi]))
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def group_utterances(probs: np.ndarray) -> tuple[list[list[tuple[int, int]]], int]:
    """Utterances as lists of frame spans (more than one span when a short phrase was joined to a
    neighbour with the pause between them cut out), and how many too-short phrases were dropped."""
    n = probs.size
    max_frames, min_frames = int(MAX_UTTERANCE_S / FRAME_S), int(np.ceil(MIN_UTTERANCE_S / FRAME_S))
    pad, merge_gap, join_gap = round(PAD_S / FRAME_S), round(MERGE_GAP_S / FRAME_S), round(JOIN_GAP_S / FRAME_S)
    segments = _split_long(speech_segments(probs), probs, max_frames - 2 * pad)
    padded = []
    for i, (start, end) in enumerate(segments):
        left = segments[i - 1][1] if i else 0
        right = segments[i + 1][0] if i + 1 < len(segments) else n
        padded.append((max(start - pad, (left + start) // 2 if i else 0),
                       min(end + pad, (end + right + 1) // 2 if i + 1 < len(segments) else n)))
    groups: list[tuple[int, int]] = []
    for start, end in padded:
        if groups and start - groups[-1][1] <= merge_gap and end - groups[-1][0] <= max_frames:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((start, end))
    utterances: list[list[tuple[int, int]]] = [[g] for g in groups]
    dropped = 0
    i = 0
    while i < len(utterances):
        spans = utterances[i]
        length = sum(e - s for s, e in spans)
        if length >= min_frames:
            i += 1
            continue
        gap_prev = spans[0][0] - utterances[i - 1][-1][1] if i else None
        gap_next = utterances[i + 1][0][0] - spans[-1][1] if i + 1 < len(utterances) else None
        options = [(g, j) for g, j in ((gap_prev, i - 1), (gap_next, i + 1))
                   if g is not None and g <= join_gap
                   and length + sum(e - s for s, e in utterances[j]) <= max_frames]
        if not options:
            utterances.pop(i)
            dropped += 1
            continue
        _, j = min(options)
        if j < i:
            utterances[j] = utterances[j] + spans
            utterances.pop(i)
        else:
            utterances[j] = spans + utterances[j]
            utterances.pop(i)
    return utterances, dropped


class Enroller:
    """Analyses uploaded recordings (thread-safe; the VAD model loads on first use)."""

    def __init__(self, vad: SileroVAD | None = None, *, target_lufs: float = TARGET_LUFS,
                 max_file_seconds: float = MAX_FILE_SECONDS) -> None:
        self._vad = vad
        self._vad_lock = threading.Lock()
        self.target_lufs = target_lufs
        self.max_file_seconds = max_file_seconds

    @property
    def vad(self) -> SileroVAD:
        with self._vad_lock:
            if self._vad is None:
                self._vad = SileroVAD()
            return self._vad

    def analyse_many(self, files: list[tuple[str, bytes | Path]],
                     progress: Callable[[float, str], None] | None = None) -> tuple[VoiceReport, list[FileAnalysis]]:
        """Analyse every file (bytes or a path); the total counts accepted files only.
        ``progress(fraction, message)`` is told before each file."""
        results = []
        for n, (name, data) in enumerate(files):
            if progress is not None:
                progress(n / len(files), f"Анализ записи {n + 1} из {len(files)}: {name}")
            results.append(self.analyse(name, data))
        usable = sum(r.quality.usable_s for r in results if r.quality.accepted)
        return VoiceReport(tuple(r.quality for r in results), round(usable, 2)), results

    def analyse(self, name: str, data: bytes | Path) -> FileAnalysis:
        """Decode, measure and cut one recording. Never raises for bad audio: the reason goes
        into ``quality.problems`` and ``accepted`` is False."""
        try:
            samples, _ = decode_audio(data, target_rate=PREPARED_RATE, max_seconds=self.max_file_seconds)
        except InputError as exc:
            return _rejected(name, 0.0, exc.message_ru)
        duration = samples.size / PREPARED_RATE
        peak = quality.peak_dbfs(samples)
        clip = quality.clipping_pct(samples)
        loudness = quality.integrated_loudness(samples, PREPARED_RATE)
        base = dict(name=name, duration_s=round(duration, 2), loudness_lufs=loudness, peak_dbfs=peak,
                    clipping_pct=round(clip, 3))
        if peak is None or peak < quality.SILENCE_DBFS:
            return FileAnalysis(FileQuality(**base, usable_s=0.0, snr_db=None, utterances=0, accepted=False,
                                            problems=("Тишина: в файле нет звука.",)))

        low = resample_poly(samples, 2, 3).astype(np.float32)
        probs = self.vad.probabilities(low * np.float32(0.9 / max(float(np.max(np.abs(low))), 1e-9)))
        n = probs.size
        power = quality.frame_power(low, n)
        active = quality.active_frames(power)
        stable = quality.spectral_stability(low, n)
        speech, pause = probs >= SPEECH_ON, probs < PAUSE_OFF
        # the noise floor is what is heard in the pauses around speech, not in a music intro
        near_speech = maximum_filter1d(speech.astype(np.uint8), 2 * NEAR_SPEECH + 1) > 0
        snr = quality.snr_db(power, speech, pause & near_speech)

        spans_list, too_short = group_utterances(probs)
        kept: list[np.ndarray] = []
        clipped = sung = 0
        for spans in spans_list:
            audio = np.concatenate([samples[s * FRAME: e * FRAME] for s, e in spans])
            frames = np.concatenate([np.arange(s, e) for s, e in spans])
            sounding = frames[active[frames]]
            if quality.clipping_pct(audio) > CLIP_UTTERANCE_PCT:
                clipped += 1
            elif sounding.size and float(np.mean(stable[sounding])) > UTTERANCE_STABLE:
                sung += 1
            else:
                kept.append(audio)

        problems: list[str] = []
        fatal: list[str] = []
        background = active & pause
        if not kept:
            if not speech.any() and active.any() and float(np.mean(stable[active])) >= MUSIC_STABLE:
                fatal.append("Похоже на музыку, а не на речь.")
            elif sung and not clipped:
                fatal.append("Похоже на пение или музыку, а не на речь.")
            elif clipped:
                fatal.append("Сильный клиппинг: звук обрезан по всей записи. Запишите тише.")
            elif too_short:
                fatal.append(f"Слишком мало речи: фразы короче {MIN_UTTERANCE_S:.0f} с.")
            elif not speech.any() and active.any() and float(np.median(
                    quality.spectral_flatness(low, n)[active])) >= NOISE_FLATNESS:
                fatal.append("Речь не найдена: в записи только шум.")
            else:
                fatal.append("Речь не найдена.")
        if snr is not None and snr < SNR_REJECT_DB:
            fatal.append(f"Много шума: речь всего на {snr:.0f} дБ громче фона (нужно от {SNR_REJECT_DB:.0f} дБ).")
        elif snr is not None and snr < SNR_WARN_DB:
            problems.append(f"Заметный фоновый шум: речь на {snr:.0f} дБ громче фона.")
        if loudness is not None and loudness < LUFS_REJECT:
            fatal.append(f"Слишком тихо: {loudness:.0f} LUFS. Запишите громче или ближе к микрофону.")
        elif loudness is not None and loudness < LUFS_WARN:
            problems.append(f"Слишком тихо: {loudness:.0f} LUFS. Громкость выровнена, но лучше записать громче.")
        if clip > CLIP_WARN_PCT and kept:
            problems.append(f"Клиппинг: {clip:.1f}% отсчётов на пределе. Уменьшите усиление микрофона.")
        if clipped and kept:
            problems.append(f"Отброшено фраз с клиппингом: {clipped}.")
        if sung and kept:
            problems.append(f"Отброшено фраз, похожих на пение или музыку: {sung}.")
        if kept and np.count_nonzero(background) * FRAME_S >= 3.0 \
                and float(np.mean(stable[background])) >= MUSIC_STABLE:
            problems.append("Вне речи звучит музыка: она не используется, но для голоса лучше запись без фона.")

        accepted = not fatal and bool(kept)
        if accepted:
            gain_ref = quality.integrated_loudness(np.concatenate(kept), PREPARED_RATE)
            joined = quality.normalise(np.concatenate(kept), gain_ref, self.target_lufs)
            bounds = np.cumsum([0] + [u.size for u in kept])
            kept = [joined[bounds[i]:bounds[i + 1]] for i in range(len(kept))]
        usable = sum(u.size for u in kept) / PREPARED_RATE if accepted else 0.0
        fq = FileQuality(**base, usable_s=round(usable, 2), snr_db=snr, utterances=len(kept) if accepted else 0,
                         accepted=accepted, problems=tuple(fatal + problems))
        return FileAnalysis(fq, tuple(kept) if accepted else ())


def _rejected(name: str, duration: float, reason: str) -> FileAnalysis:
    return FileAnalysis(FileQuality(name=name, duration_s=round(duration, 2), usable_s=0.0, loudness_lufs=None,
                                    peak_dbfs=None, clipping_pct=0.0, snr_db=None, utterances=0, accepted=False,
                                    problems=(reason,)))
