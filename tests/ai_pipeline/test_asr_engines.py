"""Both Whisper engines on real audio: faster-whisper with the packaged base model on Festival's
Russian speech, openai-whisper with a tiny randomly initialised checkpoint in the official format
(its text is noise; the test is that a real checkpoint file goes through the real code path)."""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from ai_pipeline import models, registry
from ai_pipeline.asr.base import SAMPLE_RATE
from ai_pipeline.asr.faster_whisper import FasterWhisperASR, FasterWhisperSettings, trim_window
from ai_pipeline.asr.metrics import cer, wer
from ai_pipeline.asr.openai_whisper import OpenAIWhisperASR, OpenAIWhisperSettings
from ai_pipeline.chunks import Transcript
from ai_pipeline.errors import EngineUnavailable, InputError
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS
from tests.devices import cuda_available, expected_device

SENTENCES = ("Мне нужно купить хлеб, молоко и немного сыра.", "Вчера вечером мы смотрели новый фильм про собак.")
REFERENCE = " ".join(SENTENCES)


@pytest.fixture(scope="module")
def models_dir() -> Path:
    """The real models folder, with the packaged Whisper base assembled into it (idempotent)."""
    folder = Settings().models_dir
    models.assemble_folder("whisper/base", folder)
    return folder


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """Two Russian sentences from Festival (16 kHz already), with short pauses around them."""
    tts = FestivalTTS(FestivalSettings())
    try:
        chunks = [tts.synthesize_sentence(s) for s in SENTENCES]
    finally:
        tts.close()
    assert all(c.sample_rate == SAMPLE_RATE for c in chunks)
    parts = [c.samples for c in chunks]
    pause = np.zeros(SAMPLE_RATE * 3 // 10, np.float32)
    return np.concatenate([pause, parts[0], pause, parts[1], pause])


@pytest.fixture(scope="module")
def engine(models_dir: Path) -> FasterWhisperASR:
    asr = FasterWhisperASR(FasterWhisperSettings(), models_dir)
    asr.load()
    yield asr
    asr.close()


def _assert_well_formed(t: Transcript, samples: np.ndarray) -> None:
    assert isinstance(t, Transcript) and t.final
    assert t.audio_duration == pytest.approx(len(samples) / SAMPLE_RATE)
    assert t.processing_s > 0
    assert all(0 <= s.start <= s.end <= t.audio_duration for s in t.segments)
    assert t.text == " ".join(s.text for s in t.segments if s.text)


# -- faster-whisper ---------------------------------------------------------------------------


class TestFasterWhisper:
    def test_recognises_russian_speech(self, engine: FasterWhisperASR, speech: np.ndarray) -> None:
        t = engine.transcribe(speech)
        _assert_well_formed(t, speech)
        assert t.language == "ru" and t.segments
        scores = {"wer": wer(REFERENCE, t.text), "cer": cer(REFERENCE, t.text), "text": t.text}
        assert scores["wer"] <= 0.35 and scores["cer"] <= 0.12, scores

    def test_full_window_agrees_with_short_window(self, models_dir: Path, speech: np.ndarray) -> None:
        full = FasterWhisperASR(FasterWhisperSettings(), models_dir, short_window=False)
        t = full.transcribe(speech)
        assert cer(REFERENCE, t.text) <= 0.12, t.text
        assert full.describe()["short_window"] is False

    def test_detects_russian(self, models_dir: Path, engine: FasterWhisperASR, speech: np.ndarray) -> None:
        assert engine.transcribe(speech, language="auto").language == "ru"
        auto = FasterWhisperASR(FasterWhisperSettings(language="auto"), models_dir)
        assert auto.transcribe(speech).language == "ru"

    def test_describe_reports_model_device_and_precision(self, engine: FasterWhisperASR, models_dir: Path) -> None:
        info = engine.describe()
        assert info["engine"] == "faster_whisper" and info["loaded"] is True
        assert info["model"] == str(models_dir / "whisper" / "base")
        assert info["device"] in ("cpu", "cuda")
        assert info["compute_type"] == ("int8" if info["device"] == "cpu" else "float16")

    def test_loads_from_an_absolute_path(self, models_dir: Path, tmp_path: Path, speech: np.ndarray) -> None:
        copy = tmp_path / "my whisper"
        copy.mkdir()
        for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
            (copy / name).symlink_to(models_dir / "whisper" / "base" / name)
        asr = FasterWhisperASR(FasterWhisperSettings(model=str(copy), device="cpu"), tmp_path / "unused")
        t = asr.transcribe(speech[: SAMPLE_RATE * 4])
        assert asr.describe()["model"] == str(copy)
        assert t.language == "ru" and t.text

    def test_async_path_and_concurrent_calls(self, engine: FasterWhisperASR, speech: np.ndarray) -> None:
        clip = speech[: SAMPLE_RATE * 3]
        first = asyncio.run(engine.atranscribe(clip))
        with ThreadPoolExecutor(2) as pool:
            texts = list(pool.map(lambda _: engine.transcribe(clip).text, range(2)))
        assert texts == [first.text, first.text]

    def test_too_short_audio_is_an_input_error(self, engine: FasterWhisperASR) -> None:
        with pytest.raises(InputError):
            asyncio.run(engine.atranscribe(np.zeros(800, np.float32)))

    @pytest.mark.parametrize("model", ["tiny", "large-v3", "/nonexistent/whisper-dir"])
    def test_missing_model_is_unavailable_not_downloaded(self, tmp_path: Path, model: str) -> None:
        asr = FasterWhisperASR(FasterWhisperSettings(model=model), tmp_path)
        with pytest.raises(EngineUnavailable) as info:
            asr.load()
        assert "avatar models" in info.value.message_ru and "download_models.py" in info.value.message_ru

    def test_corrupt_model_is_unavailable(self, models_dir: Path, tmp_path: Path) -> None:
        for name in ("config.json", "tokenizer.json"):
            shutil.copy(models_dir / "whisper" / "base" / name, tmp_path / name)
        (tmp_path / "model.bin").write_bytes(np.random.default_rng(0).bytes(4096))
        with pytest.raises(EngineUnavailable):
            FasterWhisperASR(FasterWhisperSettings(model=str(tmp_path))).load()

    def test_registry_builds_it(self, models_dir: Path) -> None:
        asr = registry.build("asr", FasterWhisperSettings(), models_dir)
        assert isinstance(asr, FasterWhisperASR) and asr.name == "faster_whisper"


def test_trim_window_keeps_audio_plus_a_tail() -> None:
    features = np.zeros((80, 3000), np.float32)
    features[:, :250] = -0.5  # 2.5 s of audio, then faster-whisper's zero padding
    assert trim_window(features, min_frames=1000, tail_frames=300).shape == (80, 1000)
    assert trim_window(features, min_frames=100, tail_frames=301).shape == (80, 552)  # even length
    features[:, :2900] = 0.25
    assert trim_window(features[None], min_frames=1000, tail_frames=300).shape == (1, 80, 3000)


# -- openai-whisper (tiny random checkpoint) --------------------------------------------------


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-layer Whisper with the multilingual vocabulary, saved as the official .pt format."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1)
    path = tmp_path_factory.mktemp("whisper") / "whisper" / "tiny-random.pt"
    path.parent.mkdir()
    model = Whisper(dims)
    with torch.no_grad():  # whisper leaves this parameter as torch.empty (whatever memory held): NaN logits at random
        torch.nn.init.normal_(model.decoder.positional_embedding, std=0.02)
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


class TestOpenAIWhisper:
    def test_runs_a_checkpoint_file(self, tiny_checkpoint: Path, speech: np.ndarray) -> None:
        asr = OpenAIWhisperASR(OpenAIWhisperSettings(checkpoint=str(tiny_checkpoint), device="auto"), max_tokens=8)
        t = asr.transcribe(speech)
        _assert_well_formed(t, speech)
        assert t.language == "ru"  # forced, not detected
        info = asr.describe()
        assert info["checkpoint"] == str(tiny_checkpoint)
        assert info["device"] == expected_device() and info["fp16"] is cuda_available()  # fp16 on CUDA only
        assert info["dims"]["n_audio_state"] == 64

    def test_checkpoint_by_name_beam_search_and_detection(self, tiny_checkpoint: Path, speech: np.ndarray) -> None:
        from whisper.tokenizer import LANGUAGES

        settings = OpenAIWhisperSettings(checkpoint="tiny-random", language="auto", beam_size=2)
        asr = registry.build("asr", settings, tiny_checkpoint.parent.parent)
        assert isinstance(asr, OpenAIWhisperASR)
        asr.max_tokens = 4
        t = asr.transcribe(speech[: SAMPLE_RATE * 2])
        assert t.language in LANGUAGES and t.processing_s > 0

    def test_missing_or_corrupt_checkpoint_is_unavailable(self, tmp_path: Path) -> None:
        import torch

        corrupt = tmp_path / "corrupt.pt"
        corrupt.write_bytes(np.random.default_rng(0).bytes(2048))
        not_whisper = tmp_path / "other.pt"
        torch.save({"state_dict": {}}, not_whisper)
        for checkpoint in ("large-v3", str(tmp_path / "absent.pt"), str(corrupt), str(not_whisper)):
            asr = OpenAIWhisperASR(OpenAIWhisperSettings(checkpoint=checkpoint, device="cpu"), tmp_path)
            with pytest.raises(EngineUnavailable) as info:
                asr.load()
            assert "download_models.py" in info.value.message_ru

    def test_runner_falls_back_to_faster_whisper(self, models_dir: Path, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path, models_dir=models_dir,
                            asr=OpenAIWhisperSettings(checkpoint="no-such-checkpoint"))
        pipeline = Pipeline(settings)
        pipeline.load(stages=("asr",))
        try:
            assert pipeline.asr.name == "faster_whisper"
            assert any("openai_whisper" in n for n in pipeline.notices)
        finally:
            pipeline.close()
