"""Light voice matching («подстройка голоса»): move TTS output towards an enrolled speaker on the CPU.

This is not cloning. Praat's *Change gender* (PSOLA resynthesis after resampling) shifts the
formants by the ratio of the two speakers' formant spacings, moves the pitch median and widens or
narrows the intonation range, and stretches the tempo towards the target's speaking rate; it runs
at 0.01-0.02 x real time on this CPU. Every factor is clamped (``LIMITS``) so that a bad profile cannot
produce garbage, and phoneme marks are rescaled to the new timeline.

The *source* profile of a TTS engine comes from synthesising :data:`CALIBRATION_TEXT` once per
engine configuration; it is kept in memory and in a small JSON file next to the voice
(``source_<engine key>.json`` in the voice version folder), so a restart does not recalibrate.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ai_pipeline.chunks import AudioChunk, PhonemeMark
from ai_pipeline.tts.base import TTSEngine
from ai_pipeline.voice.base import Voice, VoiceProfile
from ai_pipeline.voice.profile import PRAAT_LOCK

log = logging.getLogger(__name__)

CALIBRATION_TEXT = (
    "Здравствуйте! Сегодня я расскажу вам короткую историю. Утром мы пошли в лес за грибами, "
    "а вечером вернулись домой усталые, но счастливые. Над рекой поднимался туман, и где-то далеко "
    "лаяла собака. Как прошёл ваш день? Надеюсь, тоже хорошо."
)
CALIBRATION_VERSION = 1  # bump when the text or the estimator changes: cached source profiles go stale
# (low, high) of each factor; outside these PSOLA resynthesis sounds broken or unintelligible
# (tempo: PSOLA stretching past ~12% costs intelligibility, measured with Whisper, and adds little
# similarity - speaker encoders hardly hear tempo)
LIMITS = {"formant_ratio": (0.82, 1.22), "pitch_ratio": (0.55, 1.9), "pitch_range": (0.6, 1.6),
          "duration": (0.9, 1.12)}
PITCH_HZ = (60.0, 400.0)
# Differences smaller than these are left alone: resynthesis costs a little quality, so a voice
# that already matches (the target *is* the TTS speaker) is passed through untouched.
# The formant zone is wider than the estimator's spread between a TTS voice and recordings of its
# own speaker (3.4% for festival's msu_ru_nsh).
DEAD_ZONE = {"formant_ratio": 0.05, "pitch_ratio": 0.04, "pitch_range": 0.1, "duration": 0.06}


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return float(min(max(value, bounds[0]), bounds[1]))


def _ratio(a: float, b: float) -> float:
    """a / b, or 1 when either was not measured (zero)."""
    return a / b if a > 0 and b > 0 else 1.0


def _factor(ratio: float, name: str) -> float:
    """``ratio`` clamped to its limits, or exactly 1 inside the dead zone."""
    return 1.0 if abs(ratio - 1.0) < DEAD_ZONE[name] else _clamp(ratio, LIMITS[name])


@dataclass(frozen=True)
class MatchParameters:
    """The arguments of Praat's Change gender, derived from two profiles and clamped."""

    formant_ratio: float
    pitch_median_hz: float
    pitch_range: float
    duration: float
    pitch_floor_hz: float  # the analysis range of the *source* pitch
    pitch_ceiling_hz: float
    source_median_hz: float

    @classmethod
    def between(cls, source: VoiceProfile, target: VoiceProfile) -> MatchParameters:
        """Factors that take ``source`` to ``target``; a missing (zero) measure leaves that factor at 1."""
        formant = _ratio(target.formant_hz, source.formant_hz)
        pitch = _ratio(target.f0_median_hz, source.f0_median_hz)
        spread = _ratio(target.f0_spread_st, source.f0_spread_st)
        duration = _ratio(source.rate_sps, target.rate_sps)
        median = _clamp(source.f0_median_hz * _factor(pitch, "pitch_ratio"), PITCH_HZ)
        low = source.extra.get("f0_p05_hz", source.f0_median_hz / 1.6)
        high = source.extra.get("f0_p95_hz", source.f0_median_hz * 1.8)
        return cls(formant_ratio=round(_factor(formant, "formant_ratio"), 4),
                   pitch_median_hz=round(median, 2),
                   pitch_range=round(_factor(spread, "pitch_range"), 4),
                   duration=round(_factor(duration, "duration"), 4),
                   pitch_floor_hz=round(max(40.0, 0.7 * low), 1),
                   pitch_ceiling_hz=round(min(900.0, max(1.5 * high, 2.0 * max(40.0, 0.7 * low))), 1),
                   source_median_hz=round(source.f0_median_hz, 2))

    @property
    def identity(self) -> bool:
        """True when nothing would change (every factor 1 and the pitch median kept)."""
        return (self.formant_ratio == 1.0 and self.pitch_range == 1.0 and self.duration == 1.0
                and abs(self.pitch_median_hz - self.source_median_hz) < 0.01)


class VoiceMatcher:
    """Transforms AudioChunks of the ``source`` voice towards the ``target`` voice (thread-safe)."""

    def __init__(self, source: VoiceProfile, target: VoiceProfile) -> None:
        self.source = source
        self.target = target
        self.params = MatchParameters.between(source, target)

    def describe(self) -> dict[str, float]:
        return asdict(self.params)

    def apply(self, chunk: AudioChunk) -> AudioChunk:
        """The chunk spoken closer to the target; same sample rate, phoneme marks on the new timeline."""
        import parselmouth
        from parselmouth.praat import call

        if chunk.duration < 0.05 or self.params.identity:
            return chunk
        p = self.params
        sound = parselmouth.Sound(chunk.samples.astype(np.float64), sampling_frequency=chunk.sample_rate)
        with PRAAT_LOCK:
            try:
                out = call(sound, "Change gender", p.pitch_floor_hz, p.pitch_ceiling_hz, p.formant_ratio,
                           p.pitch_median_hz, p.pitch_range, p.duration)
            except parselmouth.PraatError as exc:  # e.g. nothing voiced: say it as it was
                log.warning("voice matching skipped a chunk: %s", exc)
                return chunk
            if int(round(out.sampling_frequency)) != chunk.sample_rate:
                out = out.resample(chunk.sample_rate)
            resynthesised = out.values[0].astype(np.float32)
        samples = _level_like(resynthesised, chunk.samples)
        duration = len(samples) / float(chunk.sample_rate)
        scale = duration / chunk.duration
        marks = tuple(PhonemeMark(m.phoneme, min(m.start * scale, duration), min(m.end * scale, duration))
                      for m in chunk.phonemes)
        return AudioChunk(samples, chunk.sample_rate, chunk.text, tuple(m for m in marks if m.end > m.start),
                          chunk.index)


def _level_like(samples: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Keep the loudness of the original (resynthesis changes it a little) and never clip."""
    rms_out = float(np.sqrt(np.mean(samples ** 2))) if len(samples) else 0.0
    rms_in = float(np.sqrt(np.mean(reference.astype(np.float32) ** 2))) if len(reference) else 0.0
    if rms_out > 1e-6 and rms_in > 1e-6:
        samples = samples * (rms_in / rms_out)
    peak = float(np.abs(samples).max(initial=0.0))
    if peak > 0.99:
        samples = samples * (0.99 / peak)
    return samples.astype(np.float32)


# -- the source profile of a TTS engine -------------------------------------------------------------

_memo: dict[str, VoiceProfile] = {}
_memo_lock = threading.Lock()


def engine_key(tts: TTSEngine) -> str:
    """A short stable key of an engine configuration (what it says about itself plus its settings)."""
    settings = getattr(tts, "settings", None)
    config = {"describe": tts.describe(), "calibration": CALIBRATION_VERSION,
              "settings": settings.model_dump() if hasattr(settings, "model_dump") else None}
    return hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def source_profile(tts: TTSEngine, cache_dir: Path | None = None) -> VoiceProfile:
    """The engine's own profile, from :data:`CALIBRATION_TEXT` (blocking; cached in memory and on disk)."""
    from ai_pipeline.voice.profile import estimate_profile

    key = engine_key(tts)
    with _memo_lock:
        if key in _memo:
            return _memo[key]
        path = cache_dir / f"source_{key}.json" if cache_dir is not None else None
        if path is not None and path.is_file():
            try:
                profile = VoiceProfile.from_dict(json.loads(path.read_text())["profile"])
            except (ValueError, KeyError, TypeError):
                profile = None
            if profile is not None:
                _memo[key] = profile
                return profile
        chunks = [tts.synthesize_sentence(s) for s in tts.prepare_text(CALIBRATION_TEXT)]
        profile = estimate_profile(chunks)
        _memo[key] = profile
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"engine": tts.describe(), "profile": profile.to_dict()}, default=str))
                tmp.replace(path)
            except OSError as exc:  # a read-only voice folder only costs a recalibration next time
                log.warning("could not cache the source voice profile: %s", exc)
        return profile


def target_profile(voice: Voice) -> VoiceProfile:
    """The voice's profile from ``profile.json``, estimated and written first if preparation has not."""
    from ai_pipeline.voice.profile import voice_profile, write_profile

    profile = voice.profile()
    if profile is None:
        profile = voice_profile(voice)
        write_profile(voice, profile)
    return profile


def matcher_for(tts: TTSEngine, voice: Voice) -> VoiceMatcher:
    """The matcher from ``tts``'s own voice to ``voice`` (blocking the first time, see above)."""
    return VoiceMatcher(source_profile(tts, cache_dir=voice.folder), target_profile(voice))
