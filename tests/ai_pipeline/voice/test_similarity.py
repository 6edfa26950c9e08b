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


def test_rhvoice_preparation_picks_the_closest_standard_voice_as_the_base(tmp_path):
    """A male speaker (festvox-ru's nsh, played 1.19x: higher and quicker) enrolled with RHVoice, whose
    default voice is Irina: preparation ranks the five free voices by their similarity once matched,
    bases the matching on the best one and gets closer than matching Anna would."""
    from ai_pipeline.tts.rhvoice import RhvoiceTTS
    from ai_pipeline.voice.similarity import voice_similarity

    voice = make_voice(tmp_path, "faster", [speed(c, 1.19) for c in nsh(100, 4)])
    tts = RhvoiceTTS()
    try:
        result = prepare_voice(voice, tts)
        configured = voice_similarity(voice, tts)
    finally:
        tts.close()
    ranking = result["standard_voices"]
    assert [row["name"] for row in ranking] and len(ranking) == 5
    assert [row["matched"] for row in ranking] == sorted((row["matched"] for row in ranking), reverse=True)
    assert result["base_voice"] == ranking[0]["name"] != "irina"
    saved = json.loads((voice.folder / "similarity.json").read_text())
    assert saved["base_voice"] == result["base_voice"] and saved["standard_voices"] == ranking
    assert saved["matched"] == ranking[0]["matched"] > configured["matched"] + 0.05, (saved, configured)
    # the closest before matching is not the closest after: a higher male voice is nearest Irina as is
    assert max(ranking, key=lambda row: row["unmatched"])["name"] != result["base_voice"]


def test_the_prepared_base_voice_is_spoken_when_nothing_else_is_picked(tmp_path):
    """After preparation, a render in the enrolled voice without a standard voice speaks the prepared base;
    a picked standard voice still wins, and without an enrolled voice the configured one speaks."""
    from ai_pipeline.request import RenderRequest
    from ai_pipeline.runner import Pipeline
    from ai_pipeline.settings import Settings

    voice = make_voice(tmp_path, "lower", [speed(c, 0.87) for c in nsh(100, 4)])
    pipeline = Pipeline(Settings(data_dir=tmp_path / "data"))
    pipeline.load(stages=("tts",))
    try:
        base = prepare_voice(voice, pipeline.tts)["base_voice"]
        assert voice.base_voice() == base and base != "irina"
        assert pipeline.speaking_tts(RenderRequest(text="Да.", voice=voice)).describe()["voice"] == base
        picked = RenderRequest(text="Да.", voice=voice, tts_voice="elena")
        assert pipeline.speaking_tts(picked).describe()["voice"] == "elena"
        assert pipeline.speaking_tts(RenderRequest(text="Да.")).describe()["voice"] == "irina"
    finally:
        pipeline.close()
