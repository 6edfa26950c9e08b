"""Profile estimation recovers known pitch, rate and formant spacing, on synthetic and real speech."""

from __future__ import annotations

import numpy as np
import pytest

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import InputError
from ai_pipeline.voice.profile import estimate_profile, voice_profile, write_profile
from tests.ai_pipeline.voice.speech import make_voice, nsh, speed
from tests.ai_pipeline.voice.synthetic import vowel_train


@pytest.mark.parametrize("f0,spacing", [(110.0, 1000.0), (220.0, 1150.0)])
def test_pulse_train_parameters_are_recovered(f0, spacing):
    profile = estimate_profile([vowel_train(f0, spacing=spacing)])
    assert profile.f0_median_hz == pytest.approx(f0, rel=0.01)
    assert profile.f0_spread_st < 0.2
    assert profile.rate_sps == pytest.approx(4.0, abs=0.3)  # four loudness swells per second
    assert profile.formant_hz == pytest.approx(spacing, rel=0.04)


def test_pitch_spread_is_measured_in_semitones():
    steady = estimate_profile([vowel_train(150.0, seconds=4.0)])
    gliding = estimate_profile([vowel_train(150.0, seconds=4.0, glide_st=3.0)])  # two whole glides
    assert gliding.f0_spread_st == pytest.approx(3.0 / np.sqrt(2), rel=0.15)  # std of a sine of amplitude 3
    assert gliding.f0_spread_st > 10 * steady.f0_spread_st
    assert gliding.f0_median_hz == pytest.approx(150.0, rel=0.03)


def test_faster_real_speech_scales_every_measure():
    speech = nsh(200, 5)
    base = estimate_profile(speech)
    fast = estimate_profile([speed(c, 1.19) for c in speech])
    assert 90 < base.f0_median_hz < 180 and 800 < base.formant_hz < 1300 and 3 < base.rate_sps < 7
    assert fast.f0_median_hz / base.f0_median_hz == pytest.approx(1.19, abs=0.03)
    assert fast.formant_hz / base.formant_hz == pytest.approx(1.19, abs=0.06)
    assert fast.rate_sps / base.rate_sps == pytest.approx(1.19, abs=0.15)
    assert fast.f0_spread_st == pytest.approx(base.f0_spread_st, rel=0.15)


def test_voice_profile_from_prepared_utterances_round_trips(tmp_path):
    voice = make_voice(tmp_path, "v", nsh(210, 3))
    profile = voice_profile(voice)
    assert voice.profile() is None
    write_profile(voice, profile)
    assert voice.profile() == profile
    assert profile.extra["voiced_s"] > 5


def test_voice_without_speech_is_refused(tmp_path):
    with pytest.raises(InputError):
        voice_profile(make_voice(tmp_path, "empty", []))
    silence = AudioChunk(np.zeros(32000, dtype=np.float32), 16000)
    with pytest.raises(InputError):
        voice_profile(make_voice(tmp_path, "silent", [silence, silence]))
