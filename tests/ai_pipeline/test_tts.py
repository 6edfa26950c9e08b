"""One contract test over every TTS engine, run on the real engines (no mocks)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import EngineFailed, EngineUnavailable, InputError
from ai_pipeline.tts.base import TTSEngine
from ai_pipeline.tts.espeak import EspeakSettings, EspeakTTS
from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS
from ai_pipeline.tts.rhvoice import RhvoiceTTS

ENGINES = [RhvoiceTTS, FestivalTTS, EspeakTTS]
VOWELS = set("aeiouy")
BILABIALS = set("pbm")

SHORT = "Привет, как дела?"
LONG = "Мама купила папе большой букет, и мы пошли гулять по парку до самого вечера."


def _start(engine: TTSEngine) -> TTSEngine:
    engine.load()  # scripts/setup.sh installs both engines: a failure here is a real failure
    return engine


@pytest.fixture(scope="module", params=ENGINES, ids=lambda cls: cls.name)
def engine(request: pytest.FixtureRequest) -> Iterator[TTSEngine]:
    tts = _start(request.param())
    yield tts
    tts.close()


def _rms(chunk: AudioChunk) -> float:
    return float(np.sqrt(np.mean(np.square(chunk.samples, dtype=np.float64))))


def _first_letters(chunk: AudioChunk) -> set[str]:
    return {mark.phoneme[0].lower() for mark in chunk.phonemes}


class TestEngineContract:
    def test_declares_phonemes_and_native_rate(self, engine: TTSEngine) -> None:
        assert engine.capabilities.phonemes
        assert engine.sample_rate >= 16_000
        assert engine.describe()["engine"] == engine.name

    def test_audio_is_float32_mono_in_range_and_not_silent(self, engine: TTSEngine) -> None:
        chunk = engine.synthesize_sentence(SHORT)
        assert chunk.samples.dtype == np.float32 and chunk.samples.ndim == 1
        assert chunk.sample_rate == engine.sample_rate
        assert np.all(np.abs(chunk.samples) <= 1.0)
        assert _rms(chunk) > 0.02
        assert chunk.text == SHORT

    def test_duration_grows_with_text_and_is_plausible(self, engine: TTSEngine) -> None:
        short, long = engine.synthesize_sentence(SHORT), engine.synthesize_sentence(LONG)
        assert long.duration > short.duration * 2
        for chunk, text in ((short, SHORT), (long, LONG)):
            assert 0.04 <= chunk.duration / len(text) <= 0.2, (text, chunk.duration)

    def test_phonemes_are_ordered_and_inside_the_audio(self, engine: TTSEngine) -> None:
        chunk = engine.synthesize_sentence(LONG)
        assert len(chunk.phonemes) > 30
        previous_end = 0.0
        for mark in chunk.phonemes:
            assert mark.phoneme and mark.start < mark.end
            assert mark.start >= previous_end - 1e-6
            previous_end = mark.end
        assert previous_end <= chunk.duration + 1e-6
        letters = _first_letters(chunk)
        assert letters & VOWELS and letters & BILABIALS

    def test_stream_yields_one_chunk_per_sentence(self, engine: TTSEngine) -> None:
        async def collect() -> list[AudioChunk]:
            return [chunk async for chunk in engine.stream("Привет! Меня зовут Анна. Чем помочь?")]

        chunks = asyncio.run(collect())
        assert [chunk.index for chunk in chunks] == [0, 1, 2]
        assert [chunk.text for chunk in chunks] == ["Привет!", "Меня зовут Анна.", "Чем помочь?"]
        assert all(_rms(chunk) > 0.02 for chunk in chunks)

    @pytest.mark.parametrize("text", ["", "   ", "🙂🙂 ✨", "— … «»"])
    def test_nothing_to_say_raises_empty_text(self, engine: TTSEngine, text: str) -> None:
        async def consume() -> None:
            async for _ in engine.stream(text):
                pass

        with pytest.raises(InputError) as info:
            asyncio.run(consume())
        assert info.value.code == "empty_text"
        with pytest.raises(InputError):
            engine.synthesize_sentence(text)

    @pytest.mark.parametrize("text", [
        'Он сказал: "Привет\\" — и ушёл (в 3,5 раза быстрее)… Встреча 22.11.2026 в 14:30!',
        "Цена $5 млн, скидка 10%, т.е. «почти даром»; см. https://example.com 👍",
        "Кавычки ' \" \\\\ \\n ) ( ;; -- ...",
        "Hello world, это тест на латиницу.",
    ])
    def test_awkward_text_synthesises(self, engine: TTSEngine, text: str) -> None:
        for sentence in engine.prepare_text(text):
            chunk = engine.synthesize_sentence(sentence)
            assert _rms(chunk) > 0.02 and chunk.phonemes

    def test_concurrent_calls_are_serialised(self, engine: TTSEngine) -> None:
        texts = [SHORT, LONG, "Раз, два, три.", "Четыре, пять."]
        with ThreadPoolExecutor(max_workers=4) as pool:
            chunks = list(pool.map(engine.synthesize_sentence, texts))
        assert [chunk.text for chunk in chunks] == texts
        assert chunks[1].duration > chunks[0].duration > chunks[3].duration / 2


class TestFestivalProcess:
    def test_restarts_after_the_process_is_killed(self) -> None:
        tts = _start(FestivalTTS(FestivalSettings()))
        try:
            first_pid = tts.pid
            os.kill(first_pid, signal.SIGKILL)
            time.sleep(0.1)
            chunk = tts.synthesize_sentence(SHORT)
            assert _rms(chunk) > 0.02
            assert tts.pid not in (None, first_pid)
        finally:
            tts.close()
        assert tts.pid is None

    def test_timeout_raises_engine_failed_and_kills_the_process(self) -> None:
        tts = _start(FestivalTTS(FestivalSettings(timeout_s=0.001)))
        try:
            with pytest.raises(EngineFailed):
                tts.synthesize_sentence(LONG)
            assert tts.pid is None
        finally:
            tts.close()

    def test_missing_binary_is_reported_as_unavailable(self) -> None:
        with pytest.raises(EngineUnavailable):
            FestivalTTS(FestivalSettings(festival_bin="festival-does-not-exist")).load()

    def test_unknown_voice_is_reported_as_unavailable(self) -> None:
        tts = FestivalTTS(FestivalSettings(voice="voice_does_not_exist"))
        assert shutil.which(tts.settings.festival_bin), "festival missing: scripts/setup.sh installs it"
        with pytest.raises(EngineUnavailable):
            tts.load()
        assert tts.pid is None
        tts.close()


def test_espeak_unknown_voice_is_reported_as_unavailable() -> None:
    with pytest.raises(EngineUnavailable) as info:
        EspeakTTS(EspeakSettings(voice="no-such-voice")).load()
    assert "не установлен" not in info.value.message_ru, "libespeak-ng missing: scripts/setup.sh installs it"
    assert _rms(_start(EspeakTTS()).synthesize_sentence(SHORT)) > 0.02  # the shared library still works
