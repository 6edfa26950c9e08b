"""RHVoice (the default TTS): voices and licences, stress marks, phoneme timings good enough for lip
sync, thread safety, and the fallback when it is missing. The real library and voices from Debian's
backports (scripts/setup.sh installs them); the engine contract is in tests/ai_pipeline/test_tts.py."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from ai_pipeline import models, registry
from ai_pipeline.asr.faster_whisper import FasterWhisperASR, FasterWhisperSettings
from ai_pipeline.asr.metrics import wer
from ai_pipeline.chunks import AudioChunk, PhonemeMark
from ai_pipeline.errors import InputError
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from ai_pipeline.talking_head.articulation import mouth_track, viseme_for
from ai_pipeline.tts.espeak import EspeakTTS
from ai_pipeline.tts.festival import FestivalTTS
from ai_pipeline.tts.rhvoice import VOICES, RhvoiceSettings, RhvoiceTTS

FREE = ["anna", "irina", "elena", "aleksandr", "aleksandr-hq"]
# rich in п/б/м between vowels, where the lips must close
LABIAL = ["Папа купил маме большую белую панаму.", "Бабушка пекла пироги с капустой и брусникой.",
          "Мы пойдём по парку, потом обедать.", "Мама мыла пол, а папа мыл машину.",
          "Бегемот пил воду из большого ведра.", "Эта книга про обезьян и попугаев на пальмах."]
VSE = [("Все ушли домой.", "все"), ("Все готово.", "всё"), ("Я все понял.", "всё"), ("Все мои друзья любят кино.", "все"),
       ("Спасибо, все хорошо!", "всё"), ("Все дети играли во дворе.", "все"), ("Это все, что я знаю.", "всё"),
       ("Мы все были рады.", "все"), ("Все будет хорошо.", "всё"), ("Все люди разные.", "все"),
       ("Я все еще думаю об этом.", "всё"), ("Все пришли вовремя.", "все"), ("Расскажи мне все.", "всё"),
       ("Все смеялись.", "все"), ("Все равно приходи.", "всё"), ("Все книги на полке.", "все"),
       ("Он все время шутит.", "всё"), ("Все вместе мы справимся.", "все"), ("Ты все сделал правильно.", "всё"),
       ("Они все знают.", "все")]


@pytest.fixture(scope="module")
def tts() -> RhvoiceTTS:
    engine = RhvoiceTTS()
    engine.load()  # scripts/setup.sh installs RHVoice: a failure here is a real failure
    yield engine
    engine.close()


def _frames_rms(chunk: AudioChunk) -> np.ndarray:
    hop = chunk.sample_rate // 100
    n = len(chunk.samples) // hop
    return np.sqrt(np.mean(np.square(chunk.samples[:n * hop].reshape(n, hop), dtype=np.float64), axis=1)) + 1e-9


def _labial_scores(chunk: AudioChunk) -> tuple[list[float], list[float]]:
    """For every п/б mark: the quietest 10 ms inside it over the median loudness of the vowels next
    to it (a closure is nearly silent); for every vowel mark: its median loudness over the clip's
    loud level (an open mouth sounds)."""
    rms = _frames_rms(chunk)
    marks = chunk.phonemes

    def span(mark: PhonemeMark) -> np.ndarray:
        first = int(mark.start * 100)
        return rms[first:max(first + 1, int(mark.end * 100))]

    closures, vowels = [], []
    for k, mark in enumerate(marks):
        if mark.phoneme[0].lower() in "pb" and viseme_for(mark.phoneme).open == 0.0:
            near = [m for m in marks[max(0, k - 2):k + 3] if viseme_for(m.phoneme).open >= 0.5 and len(span(m))]
            if near and len(span(mark)):
                closures.append(float(span(mark).min() / np.median(np.concatenate([span(m) for m in near]))))
        elif viseme_for(mark.phoneme).open >= 0.5 and len(span(mark)):
            vowels.append(float(np.median(span(mark)) / np.percentile(rms, 90)))
    return closures, vowels


class TestVoices:
    def test_free_voices_by_default_all_with_the_flag(self, tts: RhvoiceTTS) -> None:
        assert [v.name for v in tts.standard_voices()] == FREE
        assert all(v.commercial for v in tts.standard_voices())
        everything = RhvoiceTTS(RhvoiceSettings(allow_noncommercial_voices=True))
        names = [v.name for v in everything.standard_voices()]
        assert names[:5] == FREE and len(names) == len(VOICES) == 18
        assert {v.licence for v in everything.standard_voices() if not v.commercial} == {"CC-BY-NC-ND-4.0"}

    def test_a_noncommercial_voice_needs_the_flag(self, tts: RhvoiceTTS) -> None:
        with pytest.raises(ValidationError, match="non-commercial"):
            RhvoiceSettings(voice="pavel")
        with pytest.raises(ValidationError, match="unknown RHVoice voice"):
            RhvoiceSettings(voice="nobody")
        with pytest.raises(InputError) as info:
            tts.with_voice("pavel")
        assert info.value.code == "unknown_voice"
        assert RhvoiceSettings(voice="pavel", allow_noncommercial_voices=True).voice == "pavel"
        assert Settings(tts={"engine": "rhvoice", "voice": "irina"}).tts.voice == "irina"

    def test_the_default_persona_voice_is_female(self, tts: RhvoiceTTS) -> None:
        assert tts.voice_for("female") == "irina" and tts.voice_for(None) == "irina"
        assert tts.voice_for("male") == "aleksandr"
        male = RhvoiceTTS(RhvoiceSettings(voice="aleksandr-hq"))
        assert male.voice_for("male") == "aleksandr-hq" and male.voice_for("female") == "anna"

    def test_voice_views_share_the_engine_and_speak_differently(self, tts: RhvoiceTTS) -> None:
        anna = tts.with_voice("anna")
        assert tts.with_voice(None) is tts and tts.with_voice("irina") is tts
        assert anna.describe()["voice"] == "anna" and tts.describe()["voice"] == "irina"
        irina_audio = tts.synthesize_sentence("Добрый вечер.").samples
        anna_audio = anna.synthesize_sentence("Добрый вечер.").samples
        assert not (len(anna_audio) == len(irina_audio) and np.allclose(anna_audio, irina_audio))
        anna.close()  # a view closes nothing
        assert tts.synthesize_sentence("Ещё работаю.").duration > 0.3

    def test_rate_and_pitch_settings(self, tts: RhvoiceTTS) -> None:
        text = "Сегодня мы поговорим о погоде."
        normal = tts.synthesize_sentence(text).duration
        shared = tts._shared  # the view reuses the loaded engine
        fast = RhvoiceTTS(RhvoiceSettings(rate=1.6), _shared=shared).synthesize_sentence(text).duration
        assert fast < normal * 0.8


class TestStressAndText:
    def test_stress_marks_are_honoured(self, tts: RhvoiceTTS) -> None:
        first = tts._native().speak("Это з+амок.", tts.settings)[0]
        second = tts._native().speak("Это зам+ок.", tts.settings)[0]
        plain = tts._native().speak("Это замок.", tts.settings)[0]
        assert not (len(first) == len(second) and np.array_equal(first, second))
        # the dictionary says за́мок: marking that stress changes nothing
        assert len(first) == len(plain) and np.array_equal(first, plain)

    def test_a_literal_plus_is_never_a_stress_mark(self, tts: RhvoiceTTS) -> None:
        chunk = tts.synthesize_sentence("Два + два.")
        assert chunk.duration > 0.5 and chunk.text == "Два + два."

    def test_by_default_yo_and_homographs_come_from_context(self, tts: RhvoiceTTS) -> None:
        assert tts.settings.accents == "homographs"
        assert tts._accented("Все готово, и слезы высохли.") == "Всё готово, и слёзы высохли."
        # «все» (everybody) or «всё» (everything) by context: right far more often than never writing ё
        right = sum(("всё" in tts._accented(text).lower()) == (want == "всё") for text, want in VSE)
        assert right >= 17 and right > sum(want == "все" for _, want in VSE) + 5, right
        assert "зам+ок" in tts._accented("Я закрыл замок на двери.")
        text = "Вечером над рекой поднялся густой белый туман, и мы долго сидели на берегу."
        every = RhvoiceTTS(RhvoiceSettings(accents="marks"), _shared=tts._shared)._accented(text)
        assert tts._accented(text).count("+") < every.count("+") // 2  # only the words the context decides
        # RHVoice itself gets ё only where it is certain: «все»/«всё» needs the context
        native = tts._native()
        assert not np.array_equal(native.speak("Всё готово.", tts.settings)[0], native.speak("Все готово.", tts.settings)[0])

    def test_accents_from_silero_stress_restore_yo(self) -> None:
        engine = RhvoiceTTS(RhvoiceSettings(accents="marks", phonemes=False))
        try:
            marked = engine._accented("Все мы ждем елку у большого дома.")
            assert marked == "Всё мы ждём ёлку у больш+ого д+ома."  # ё is always stressed: no mark
            assert engine.synthesize_sentence("Мы ждем.").duration > 0.3
        finally:
            engine.close()


class TestLipSync:
    def test_mouth_closes_on_labials_and_opens_on_vowels_as_with_festival(self, tts: RhvoiceTTS) -> None:
        festival = FestivalTTS()
        try:
            reference = [festival.synthesize_sentence(text) for text in LABIAL]
        finally:
            festival.close()
        ours = [tts.with_voice(voice).synthesize_sentence(text) for voice in ("irina", "aleksandr") for text in LABIAL]
        ours_closures = [c for chunk in ours for c in _labial_scores(chunk)[0]]
        ours_vowels = [v for chunk in ours for v in _labial_scores(chunk)[1]]
        ref_closures = [c for chunk in reference for c in _labial_scores(chunk)[0]]
        ref_vowels = [v for chunk in reference for v in _labial_scores(chunk)[1]]
        assert len(ours_closures) > 40
        # a п/б closure is nearly silent: as deep as under Festival's own segment times
        assert np.median(ours_closures) < 0.1 and np.median(ours_closures) < 2 * np.median(ref_closures)
        assert np.mean(np.array(ours_vowels) > 0.5) > 0.85 and np.mean(np.array(ref_vowels) > 0.5) > 0.85

        # the mouth track built from them is closed on п/б/м and open on vowels, per voice, as with Festival
        def shut_and_open(chunks: list[AudioChunk]) -> tuple[float, float]:
            shut, opened = [], []
            for chunk in chunks:
                track = mouth_track(chunk.samples, chunk.sample_rate, 25, int(chunk.duration * 25), chunk.phonemes)
                for m in chunk.phonemes:
                    openness = track[min(int((m.start + m.end) / 2 * 25), len(track) - 1), 0]
                    if m.phoneme[0].lower() in "pbm" and viseme_for(m.phoneme).open == 0.0:
                        shut.append(openness)
                    elif viseme_for(m.phoneme).open >= 0.5:
                        opened.append(openness)
            return float(np.median(shut)), float(np.median(opened))

        festival_shut, festival_open = shut_and_open(reference)
        assert festival_shut < 0.4 * festival_open
        for voice_chunks in (ours[:len(LABIAL)], ours[len(LABIAL):]):  # irina, aleksandr
            shut, opened = shut_and_open(voice_chunks)
            assert shut < 0.6 * opened and shut < festival_shut + 0.05, (shut, opened, festival_shut, festival_open)

    def test_every_reference_phoneme_survives_the_alignment(self, tts: RhvoiceTTS) -> None:
        festival = FestivalTTS()
        try:
            for text in LABIAL:
                ours, reference = tts.synthesize_sentence(text), festival.synthesize_sentence(text)
                assert [m.phoneme for m in ours.phonemes] == [m.phoneme for m in reference.phonemes]
                assert all(m.end - m.start >= 0.019 for m in ours.phonemes)
                assert all(a.end <= b.start + 1e-9 for a, b in zip(ours.phonemes, ours.phonemes[1:]))
        finally:
            festival.close()

    def test_alignment_beats_stretching_the_reference(self, tts: RhvoiceTTS) -> None:
        """The same check fails for eSpeak's times stretched linearly onto the audio: the test can fail."""
        espeak = EspeakTTS()
        stretched, aligned = [], []
        for text in LABIAL:
            chunk, ref = tts.synthesize_sentence(text), espeak.synthesize_sentence(text)
            k = chunk.duration / ref.duration
            linear = tuple(PhonemeMark(m.phoneme, m.start * k, m.end * k) for m in ref.phonemes)
            stretched += _labial_scores(replace(chunk, phonemes=linear))[0]
            aligned += _labial_scores(chunk)[0]
        assert np.median(aligned) < 0.5 * np.median(stretched)


class TestEngine:
    def test_speech_is_understood_by_whisper(self, tts: RhvoiceTTS) -> None:
        import soxr

        folder = Settings().models_dir
        models.assemble_folder("whisper/base", folder)
        asr = FasterWhisperASR(FasterWhisperSettings(), folder)
        asr.load()
        try:
            texts = ["Вчера вечером мы смотрели новый фильм про собак.", "Мне нужно купить хлеб и молоко."]
            for voice in ("anna", "aleksandr"):
                for text in texts:
                    chunk = tts.with_voice(voice).synthesize_sentence(text)
                    assert chunk.sample_rate == 24_000
                    heard = asyncio.run(asr.atranscribe(soxr.resample(chunk.samples, 24_000, 16_000))).text
                    assert wer(text, heard) <= 0.25, (voice, text, heard)
        finally:
            asr.close()

    def test_concurrent_voices_match_serial_synthesis(self, tts: RhvoiceTTS) -> None:
        jobs = [("anna", "Раз, два, три."), ("irina", "Четыре, пять."), ("aleksandr", "Вышел зайчик погулять."),
                ("anna", "Вдруг охотник выбегает.")] * 2
        serial = [tts.with_voice(v).synthesize_sentence(t).samples for v, t in jobs]
        with ThreadPoolExecutor(max_workers=4) as pool:
            parallel = list(pool.map(lambda job: tts.with_voice(job[0]).synthesize_sentence(job[1]).samples, jobs))
        assert all(np.array_equal(a, b) for a, b in zip(serial, parallel))

    def test_close_removes_the_private_config(self) -> None:
        engine = RhvoiceTTS()
        engine.load()
        folder = engine._shared.native.config_dir
        assert (folder / "RHVoice.conf").read_text().strip() == "stress_marker=+"
        engine.close()
        assert not folder.exists() and engine._shared.native is None

    def test_missing_rhvoice_falls_back_to_festival_with_a_notice(self, tmp_path: Path) -> None:
        missing = RhvoiceSettings(lib_path=str(tmp_path / "libRHVoice.so.5"))
        assert "RHVoice" in registry.availability("tts", missing, tmp_path)
        assert "голос" in registry.availability("tts", RhvoiceSettings(data_path=str(tmp_path)), tmp_path)
        assert Settings().tts.engine == "rhvoice"
        pipeline = Pipeline(Settings(data_dir=tmp_path, tts=missing))
        pipeline.load(stages=("tts",))
        try:
            assert pipeline.tts.name == "festival"
            assert any("rhvoice" in notice and "festival" in notice for notice in pipeline.notices)
            assert pipeline.tts.synthesize_sentence("Я всё ещё говорю.").duration > 0.5
        finally:
            pipeline.close()
