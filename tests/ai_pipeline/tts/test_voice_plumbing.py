"""TTS with a voice: light engines are matched per sentence, cloning engines get the voice itself."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import InputError
from ai_pipeline.timing import StageTimer
from ai_pipeline.tts.base import TTSCapabilities
from ai_pipeline.tts.espeak import EspeakTTS
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.prepare import prepare_voice
from tests.ai_pipeline.voice.speech import make_voice, nsh, speed

TEXT = "Привет, как у тебя дела? Я люблю читать книги и рисовать."


@pytest.fixture(scope="module")
def voice(tmp_path_factory) -> Voice:
    return make_voice(tmp_path_factory.mktemp("voices"), "higher", [speed(c, 1.19) for c in nsh(400, 3)])


async def collect(tts, text, timer, voice=None) -> list[AudioChunk]:
    return [c async for c in tts.stream(text, timer, voice=voice)]


def test_light_engine_matches_every_sentence_and_times_it(voice):
    tts = EspeakTTS()
    assert voice.profile() is None
    plain_timer, voiced_timer = StageTimer(), StageTimer()
    plain = asyncio.run(collect(tts, TEXT, plain_timer))
    voiced = asyncio.run(collect(tts, TEXT, voiced_timer, voice))
    assert voice.profile() is not None  # estimated and saved on first use
    assert "voice" not in plain_timer.stages and voiced_timer.stages["voice"] > 0
    assert [c.index for c in voiced] == [c.index for c in plain] == [0, 1]
    for p, v in zip(plain, voiced):
        assert v.sample_rate == p.sample_rate and v.text == p.text
        assert not np.array_equal(v.samples[:len(p.samples)], p.samples[:len(v.samples)])
        assert v.phonemes and all(0 <= m.start < m.end <= v.duration for m in v.phonemes)
    blocking = tts.synthesize(TEXT, voice)  # the blocking twin does the same (neither engine is bit-exact)
    assert [c.duration for c in blocking] == pytest.approx([c.duration for c in voiced], rel=0.05)
    assert sum(c.duration for c in voiced) > 1.04 * sum(c.duration for c in plain)  # the target speaks slower


class RecordingCloner(EspeakTTS):
    """A cloning engine as the base class sees one: it gets the voice and speaks it itself."""

    capabilities = TTSCapabilities(phonemes=True, voice_cloning=True)

    def __init__(self) -> None:
        super().__init__()
        self.voices: list[Voice | None] = []

    def synthesize_voiced(self, text: str, voice: Voice | None) -> AudioChunk:
        self.voices.append(voice)
        return self.synthesize_sentence(text)

    def prepare_voice(self, voice, progress=None):  # type: ignore[no-untyped-def]
        (voice.folder / "cloner.json").write_text(json.dumps({"voice": voice.key}))
        return {"mode": "cloning"}


def test_cloning_engine_receives_the_voice_and_is_not_matched(voice):
    tts = RecordingCloner()
    timer = StageTimer()
    chunks = asyncio.run(collect(tts, TEXT, timer, voice))
    assert tts.voices == [voice, voice] and "voice" not in timer.stages
    plain = EspeakTTS().synthesize(TEXT)
    assert [c.duration for c in chunks] == pytest.approx([c.duration for c in plain], rel=0.02)  # not matched
    assert tts.voice_matcher(voice) is None
    result = prepare_voice(voice, tts)
    assert result["mode"] == "cloning" and result["voice"] == voice.key
    assert (voice.folder / "cloner.json").is_file()


def test_preparation_refuses_a_voice_without_enough_speech(tmp_path):
    empty = make_voice(tmp_path, "empty", [])
    with pytest.raises(InputError) as info:
        prepare_voice(empty, EspeakTTS())
    assert info.value.code == "voice_not_ready"
    short = make_voice(tmp_path, "short", nsh(10, 1))
    (short.folder / "report.json").write_text(json.dumps({"files": [], "usable_s": 9.0}))
    with pytest.raises(InputError) as info:
        prepare_voice(short, EspeakTTS())
    assert info.value.code == "voice_not_enough" and "30" in info.value.message_ru
