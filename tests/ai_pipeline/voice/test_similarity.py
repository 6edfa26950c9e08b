"""Speaker similarity (resemblyzer) tells speakers apart, and preparation shows matching helps."""

from __future__ import annotations

import json

import pytest

from ai_pipeline.tts.espeak import EspeakTTS
from ai_pipeline.tts.festival import FestivalTTS
from ai_pipeline.voice.prepare import prepare_voice
from ai_pipeline.voice.similarity import SIMILARITY_TEXT, similarity
from tests.ai_pipeline.voice.speech import make_voice, nsh, speed


def test_the_same_speaker_is_closer_than_another():
    first, second = nsh(300, 2), nsh(320, 2)
    robot = EspeakTTS().synthesize(SIMILARITY_TEXT)
    same = similarity(first, second)
    other = similarity(first, robot)
    assert same > 0.85
    assert other < 0.75
    assert similarity(first[0], first[0]) == pytest.approx(1.0, abs=1e-4)


def test_preparation_writes_the_profile_and_matching_raises_similarity(tmp_path):
    voice = make_voice(tmp_path, "faster", [speed(c, 1.19) for c in nsh(100, 4)])  # higher, brighter, quicker
    steps: list[tuple[float, str]] = []
    tts = FestivalTTS()
    try:
        result = prepare_voice(voice, tts, lambda f, m: steps.append((f, m)))
    finally:
        tts.close()
    assert voice.profile() is not None and result["profile"] == voice.profile().to_dict()
    saved = json.loads((voice.folder / "similarity.json").read_text())
    assert saved == result["similarity"]
    assert saved["matched"] > saved["unmatched"] + 0.08, saved
    assert result["matching"]["formant_ratio"] > 1.1 and result["voice"] == voice.key
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(any("а" <= ch <= "я" for ch in m.lower()) for _, m in steps)  # Russian progress messages
