"""The XTTS-v2 engine through its real loading code, on a reduced checkpoint of the same classes.

The checkpoint (tests/xtts_tiny.py) is randomly initialised, so the speech is noise-like; what is
checked is everything around it: the published folder layout loads, conditioning latents come from
real speech (festvox-ru recordings) and are cached per voice version and reused, the text front end
marks stress only when the vocabulary has the mark, synthesis gives plausible 24 kHz audio, the
stream yields one chunk per sentence and stops when cancelled, and a fine-tuned GPT is swapped in.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ai_pipeline import registry
from ai_pipeline.errors import EngineUnavailable, InputError
from ai_pipeline.settings import Settings
from ai_pipeline.tts.rhvoice import RhvoiceSettings
from ai_pipeline.tts.russian_accents import ACUTE
from ai_pipeline.tts.xtts import LATENTS_FILE
from ai_pipeline.tts.xtts import MAX_S_PER_CHAR
from ai_pipeline.tts.xtts import MIN_S
from ai_pipeline.tts.xtts import TRAINED_GPT_FILE
from ai_pipeline.tts.xtts import XttsSettings
from ai_pipeline.tts.xtts import XttsTTS
from ai_pipeline.tts.xtts import split_long
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.speaker import VoicedTTS
from tests.ai_pipeline.voice.speech import make_voice, nsh
from tests.xtts_tiny import write_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("models") / "xtts_v2")


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Voice:
    return make_voice(tmp_path_factory.mktemp("voices"), "nsh", nsh(0, 2))


@pytest.fixture(scope="module")
def engine(checkpoint: Path) -> XttsTTS:
    tts = registry.build("tts", XttsSettings(model_dir=Path(checkpoint.name), device="cpu", reference_s=8.0),
                         checkpoint.parent)
    assert isinstance(tts, XttsTTS) and tts.model_dir == checkpoint
    tts.load()
    yield tts
    tts.close()


def test_settings_registry_and_fallback(tmp_path):
    settings = Settings(data_dir=tmp_path, tts={"engine": "xtts", "temperature": 0.6})
    assert isinstance(settings.tts, XttsSettings) and settings.tts.model_dir == Path("xtts_v2")
    assert registry.fallback_settings("tts", "xtts") == RhvoiceSettings()
    missing = registry.build("tts", settings.tts, tmp_path)
    assert missing.capabilities.voice_cloning and not missing.capabilities.phonemes
    with pytest.raises(EngineUnavailable) as info:
        missing.load()
    assert "download_models.py --only xtts-v2" in info.value.message_ru


def test_split_long_keeps_pieces_under_the_limit():
    text = "Это первая часть, это вторая часть, а это третья и последняя часть фразы без запятых вообще"
    pieces = split_long(text, 40)
    assert all(len(p) <= 40 for p in pieces) and " ".join(pieces) == text
    assert pieces[0].endswith(",")
    assert split_long("коротко", 40) == ["коротко"]


def test_front_end_marks_stress_the_vocabulary_accepts(engine):
    assert engine.describe()["stress_marks"] is True
    spoken = engine.front_end("Сегодня все ещё хорошо.")
    assert ACUTE in spoken and "всё" in spoken.lower()
    tokens = engine._model.tokenizer.encode(spoken.lower(), "ru")
    assert 1 not in tokens  # no [UNK]: the mark is in this vocabulary


def test_latents_are_computed_from_speech_cached_and_reused(engine, voice):
    result = engine.prepare_voice(voice)
    path = voice.folder / LATENTS_FILE
    assert result["latents"] == str(path) and path.is_file() and result["cached"] is False
    data = torch.load(path, weights_only=True)
    gpt_latent, speaker = data["gpt_cond_latent"], data["speaker_embedding"]
    assert gpt_latent.shape == (1, 32, 64) and speaker.shape == (1, 512, 1)  # perceiver tokens x GPT width
    assert torch.isfinite(gpt_latent).all() and torch.isfinite(speaker).all()
    assert 5.0 <= data["reference_s"] <= 25.0
    engine._latents.clear()
    recordings = list(voice.prepared)
    for clip in recordings:  # the cache file alone must do: computing again would need these
        clip.rename(clip.with_name(clip.name + ".away"))
    try:
        again = engine._conditioning(voice)
    finally:
        for clip in recordings:
            clip.with_name(clip.name + ".away").rename(clip)
    assert torch.equal(again[0], gpt_latent) and torch.equal(again[1], speaker)
    assert engine.prepare_voice(voice)["cached"] is True
    data["checkpoint"] = "another model"
    torch.save(data, path)
    assert engine.prepare_voice(voice)["cached"] is False  # made with another checkpoint: recomputed
    assert torch.load(path, weights_only=True)["checkpoint"] == engine._fingerprint


def test_sentence_is_plausible_24khz_audio(engine, voice):
    text = "Привет, как твои дела?"
    chunk = engine.synthesize_voiced(text, voice)
    assert chunk.sample_rate == 24000 and chunk.text == text and chunk.phonemes == ()
    samples = chunk.samples
    assert samples.dtype == np.float32 and samples.ndim == 1 and np.isfinite(samples).all()
    assert np.abs(samples).max() <= 1.0 and float(np.sqrt(np.mean(samples ** 2))) > 1e-4
    assert 0.1 < chunk.duration <= MIN_S + MAX_S_PER_CHAR * len(text) + 0.5


def test_no_voice_needs_a_builtin_speaker(engine):
    with pytest.raises(InputError) as info:
        engine.synthesize_sentence("Привет.")
    assert info.value.code == "voice_required"


def test_stream_yields_one_chunk_per_sentence_and_stops_when_cancelled(engine, voice):
    calls: list[str] = []
    real = engine.synthesize_voiced

    def counting(text: str, v: Voice | None):  # type: ignore[no-untyped-def]
        calls.append(text)
        return real(text, v)

    engine.synthesize_voiced = counting  # type: ignore[method-assign]
    try:
        async def first_of(text: str) -> list:
            got = []
            stream = VoicedTTS(engine, voice).stream(text)
            async for chunk in stream:
                got.append(chunk)
                if len(got) == 1 and "Третье" in text:
                    await stream.aclose()
                    break
            return got

        chunks = asyncio.run(first_of("Первое предложение. Второе!"))
        assert [c.index for c in chunks] == [0, 1] and len(calls) == 2
        assert all(c.sample_rate == 24000 and c.duration > 0.1 for c in chunks)
        calls.clear()
        chunks = asyncio.run(first_of("Первое. Второе. Третье."))
        assert len(chunks) == 1 and len(calls) == 1  # nothing synthesised after cancellation
    finally:
        del engine.synthesize_voiced


def test_fine_tuned_gpt_of_a_trained_version_is_swapped_in(engine, voice):
    trained = Voice(voice.id, voice.name, 2, voice.folder.parent / "v2")
    shutil.copytree(voice.folder / "prepared", trained.folder / "prepared")
    base = {k: v.clone() for k, v in engine._model.gpt.state_dict().items() if not k.startswith("gpt_inference.")}
    torch.manual_seed(1)
    tuned = {k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v for k, v in base.items()}
    torch.save(tuned, trained.folder / TRAINED_GPT_FILE)
    assert engine.prepare_voice(trained)["fine_tuned"] is True
    chunk = engine.synthesize_voiced("Новая версия голоса.", trained)
    assert chunk.duration > 0.1 and np.isfinite(chunk.samples).all()
    weight = "text_embedding.weight"
    assert torch.equal(engine._model.gpt.state_dict()[weight], tuned[weight])
    engine.synthesize_voiced("Снова старая.", voice)
    assert torch.equal(engine._model.gpt.state_dict()[weight], base[weight])
    # a file from before the export named the tie: gpt.wte is the trained mel_embedding
    untied = {k: v for k, v in tuned.items() if k != "gpt.wte.weight"}
    untied["mel_embedding.weight"] = untied["mel_embedding.weight"] + 0.5
    torch.save(untied, trained.folder / TRAINED_GPT_FILE)
    assert engine.synthesize_voiced("Старый файл.", trained).duration > 0.1
    state = engine._model.gpt.state_dict()
    assert torch.equal(state["gpt.wte.weight"], untied["mel_embedding.weight"])
