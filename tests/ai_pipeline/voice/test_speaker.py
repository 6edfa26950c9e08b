"""VoicedTTS: any TTS engine in an enrolled voice. Light engines are matched per sentence, cloning engines
get the voice itself; preparation is dispatched the same way."""

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
from ai_pipeline.voice.speaker import VoicedTTS
from tests.ai_pipeline.voice.speech import make_voice, nsh, speed

TEXT = "Привет, как у тебя дела? Я люблю читать книги и рисовать."


@pytest.fixture(scope="module")
def voice(tmp_path_factory) -> Voice:
    return make_voice(tmp_path_factory.mktemp("voices"), "higher", [speed(c, 1.19) for c in nsh(400, 3)])


async def collect(tts, text, timer, voice=None) -> list[AudioChunk]:
    return [c async for c in VoicedTTS(tts, voice).stream(text, timer)]


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
    blocking = VoicedTTS(tts, voice).synthesize(TEXT)  # the blocking twin does the same (neither engine is bit-exact)
    assert [c.duration for c in blocking] == pytest.approx([c.duration for c in voiced], rel=0.05)
    assert sum(c.duration for c in voiced) > 1.04 * sum(c.duration for c in plain)  # the target speaks slower


class RecordingCloner(EspeakTTS):
    """A cloning engine as VoicedTTS sees one: it gets the voice and speaks it itself."""

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
    assert VoicedTTS(tts, voice).matcher() is None and VoicedTTS(tts, voice).cloning
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


class CountingEspeak(EspeakTTS):
    """A light engine that records what it is asked to say."""

    def __init__(self) -> None:
        super().__init__()
        self.spoken: list[str] = []

    def synthesize_sentence(self, text: str) -> AudioChunk:
        self.spoken.append(text)
        return super().synthesize_sentence(text)


def test_without_a_voice_it_is_the_engine_itself():
    tts = EspeakTTS()
    speaker = VoicedTTS(tts)
    assert not speaker.matching and not speaker.cloning and speaker.matcher() is None
    wrapped_timer, own_timer = StageTimer(), StageTimer()
    wrapped = asyncio.run(collect(tts, TEXT, wrapped_timer))
    own = asyncio.run(_own(tts, TEXT, own_timer))
    assert [(c.index, c.text, c.sample_rate) for c in wrapped] == [(c.index, c.text, c.sample_rate) for c in own]
    assert [c.duration for c in wrapped] == pytest.approx([c.duration for c in own], rel=0.02)
    assert set(wrapped_timer.stages) == set(own_timer.stages) == {"tts"}
    assert [c.index for c in speaker.synthesize(TEXT)] == [c.index for c in tts.synthesize(TEXT)] == [0, 1]


async def _own(tts, text, timer) -> list[AudioChunk]:
    return await _drain(tts.stream(text, timer))


async def _drain(stream) -> list[AudioChunk]:
    return [c async for c in stream]


def test_light_engine_speaks_its_own_voice_and_stops_when_cancelled(voice):
    tts = CountingEspeak()
    with pytest.raises(NotImplementedError):  # it cannot clone: VoicedTTS matches its own voice instead
        tts.synthesize_voiced("Привет.", voice)
    fresh = VoicedTTS(tts, voice)
    with pytest.raises(InputError):  # empty text is refused before the matcher is looked up
        asyncio.run(_drain(fresh.stream(" … ", StageTimer())))
    assert fresh._matcher is None and tts.spoken == []
    speaker = VoicedTTS(tts, voice)
    assert speaker.matching and not speaker.cloning and speaker.matcher() is speaker.matcher()  # looked up once
    tts.spoken.clear()

    async def first_of(text: str) -> AudioChunk:
        stream = speaker.stream(text, StageTimer())
        first = await anext(stream)
        await stream.aclose()
        return first

    first = asyncio.run(first_of("Первое. Второе. Третье."))
    assert first.index == 0 and len(tts.spoken) == 1  # nothing synthesised after cancellation
