"""Light matching moves pitch, formants and tempo towards the target and keeps phoneme times right."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from ai_pipeline.tts.espeak import EspeakTTS
from ai_pipeline.tts.festival import FestivalTTS
from ai_pipeline.voice import match
from ai_pipeline.voice.base import VoiceProfile
from ai_pipeline.voice.match import LIMITS, MatchParameters, VoiceMatcher, engine_key, source_profile
from ai_pipeline.voice.profile import estimate_profile
from tests.ai_pipeline.voice.synthetic import vowel_train

TEXT = "Сегодня хорошая погода, пойдём гулять в парк. Меня зовут Аня, и я учусь в школе."


@pytest.fixture(scope="module")
def festival():
    tts = FestivalTTS()
    tts.load()
    yield tts
    tts.close()


@pytest.fixture(scope="module")
def festival_profile(festival, tmp_path_factory):
    return source_profile(festival, tmp_path_factory.mktemp("festival"))


def test_matching_moves_pitch_and_formants_towards_the_target(festival, festival_profile):
    target = replace(festival_profile, f0_median_hz=festival_profile.f0_median_hz * 1.35,
                     formant_hz=festival_profile.formant_hz * 1.12, rate_sps=festival_profile.rate_sps / 1.1)
    matcher = VoiceMatcher(festival_profile, target)
    plain = festival.synthesize(TEXT)
    matched = [matcher.apply(c) for c in plain]
    before, after = estimate_profile(plain), estimate_profile(matched)
    assert after.f0_median_hz == pytest.approx(target.f0_median_hz, rel=0.06)
    assert abs(np.log(after.formant_hz / target.formant_hz)) < 0.4 * abs(np.log(before.formant_hz / target.formant_hz))
    duration = sum(c.duration for c in matched) / sum(c.duration for c in plain)
    assert duration == pytest.approx(1.1, abs=0.03)


def test_phoneme_marks_follow_the_new_timeline():
    tts = EspeakTTS()
    chunk = tts.synthesize_sentence("Расскажи мне, пожалуйста, сказку про кота.")
    source = estimate_profile([chunk])
    target = replace(source, rate_sps=source.rate_sps / 1.1, f0_median_hz=source.f0_median_hz * 1.3)
    matcher = VoiceMatcher(source, target)
    out = matcher.apply(chunk)
    assert out.sample_rate == chunk.sample_rate == 22050
    assert out.duration == pytest.approx(chunk.duration * 1.1, rel=0.02)
    assert len(out.phonemes) == len(chunk.phonemes) > 10
    assert all(0 <= m.start < m.end <= out.duration for m in out.phonemes)
    assert [m.phoneme for m in out.phonemes] == [m.phoneme for m in chunk.phonemes]
    for old, new in zip(chunk.phonemes, out.phonemes):
        assert new.start == pytest.approx(old.start * out.duration / chunk.duration, abs=1e-6)
    assert (out.text, out.index) == (chunk.text, chunk.index)


def test_absurd_profiles_are_clamped():
    source = VoiceProfile(120.0, 3.0, 5.0, 1000.0)
    wild = VoiceProfile(5000.0, 90.0, 0.01, 99999.0)
    params = MatchParameters.between(source, wild)
    assert params.formant_ratio == LIMITS["formant_ratio"][1]
    assert params.pitch_median_hz == pytest.approx(120.0 * LIMITS["pitch_ratio"][1])
    assert params.pitch_range == LIMITS["pitch_range"][1]
    assert params.duration == LIMITS["duration"][1]
    tiny = MatchParameters.between(source, VoiceProfile(1.0, 0.001, 500.0, 1.0))
    assert (tiny.formant_ratio, tiny.pitch_range, tiny.duration) == (
        LIMITS["formant_ratio"][0], LIMITS["pitch_range"][0], LIMITS["duration"][0])
    assert tiny.pitch_median_hz >= 60.0
    chunk = vowel_train(120.0, seconds=1.5, spacing=1000.0)
    out = VoiceMatcher(source, wild).apply(chunk)
    assert np.all(np.isfinite(out.samples)) and np.abs(out.samples).max() <= 0.99
    assert out.duration <= chunk.duration * LIMITS["duration"][1] + 0.02
    unknown = MatchParameters.between(source, VoiceProfile(0.0, 0.0, 0.0, 0.0))  # nothing measured: no change
    assert unknown.identity


def test_the_same_voice_passes_through_untouched():
    profile = VoiceProfile(120.0, 3.0, 5.0, 1000.0)
    chunk = vowel_train(120.0, seconds=1.0)
    assert VoiceMatcher(profile, replace(profile, f0_median_hz=122.0, rate_sps=5.1)).apply(chunk) is chunk


def test_source_profile_is_cached_on_disk(festival, festival_profile, tmp_path):
    match._memo.clear()
    first = source_profile(festival, tmp_path)
    path = tmp_path / f"source_{engine_key(festival)}.json"
    stored = json.loads(path.read_text())
    assert VoiceProfile.from_dict(stored["profile"]) == first
    assert first.f0_median_hz == pytest.approx(festival_profile.f0_median_hz, rel=1e-6)
    stored["profile"]["f0_median_hz"] = 123.0  # a restart reads the file instead of recalibrating
    path.write_text(json.dumps(stored))
    match._memo.clear()
    assert source_profile(festival, tmp_path).f0_median_hz == 123.0
    assert engine_key(festival) != engine_key(EspeakTTS())
    match._memo.clear()
