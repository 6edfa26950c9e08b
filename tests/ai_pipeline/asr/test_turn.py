"""Smart Turn v3.2 (ai_pipeline/asr/turn.py) with the real model from the pipecat-ai wheel, on real
Russian speech: the studio recordings of festvox-ru's nsh database (one male speaker reading, 16 kHz,
with phone labels that give the times of his pauses) and the committed ASR test clips."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.asr import turn
from ai_pipeline.asr.turn import SAMPLE_RATE, WINDOW, SmartTurn, last_window, log_mel_features
from ai_pipeline.errors import EngineUnavailable, InputError
from ai_pipeline.media.audio_io import decode_audio
from ai_pipeline.voice.profile import read_wav
from tests.ai_pipeline.voice.speech import NSH_WAVS
from tests.voice_samples import ASR_CLIPS

LABELS = NSH_WAVS.parent / "lab"


@pytest.fixture(scope="module")
def detector() -> SmartTurn:
    return SmartTurn()


def _recording(index: int) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """One nsh recording and its phone segments ``(start, end, phone)`` (a label line holds an end time)."""
    path = sorted(NSH_WAVS.glob("ru_*.wav"))[index]
    segments, start = [], 0.0
    for line in (LABELS / f"{path.stem}.lab").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0][0].isdigit():
            segments.append((start, float(parts[0]), parts[2]))
            start = float(parts[0])
    return read_wav(path).samples, segments


def _after_silence(samples: np.ndarray, t: float, room: np.ndarray, ms: float = 200) -> np.ndarray:
    """The turn so far: the speech up to ``t`` s, then ``ms`` of the recording's own room noise."""
    return np.concatenate([samples[:int(t * SAMPLE_RATE)], np.resize(room, int(ms * SAMPLE_RATE / 1000))])


def test_features_equal_transformers_whisper_extractor():
    from transformers import WhisperFeatureExtractor

    reference = WhisperFeatureExtractor(chunk_length=8)  # what Smart Turn was trained with
    assert np.allclose(reference.mel_filters.T, turn.mel_filter_bank(), atol=1e-12)
    speech, _ = _recording(0)  # 16 s: its last 8 s
    clip, _ = decode_audio(ASR_CLIPS / "festival_03.ogg", SAMPLE_RATE)  # 4 s: zeros before it
    for samples in (speech, clip, np.concatenate([speech[:8000] * 0.01, np.zeros(20000, np.float32)])):
        window = last_window(samples)
        expected = reference(window, sampling_rate=SAMPLE_RATE, padding="max_length", max_length=WINDOW,
                             truncation=True, do_normalize=True, return_tensors="np").input_features[0]
        ours = log_mel_features(window)
        assert ours.shape == expected.shape == (80, 800) and ours.dtype == np.float32
        assert np.abs(ours - expected).max() < 1e-4


def test_a_finished_sentence_is_more_complete_than_a_pause_at_a_comma(detector):
    """Cut where the reader paused at a comma (the labels' pause of >= 150 ms between 30 % and 90 % of
    the speech), the turn sounds unfinished; at the sentence's end, finished. Both judged after 200 ms
    of silence, as a pipeline asks once its VAD hears the speaker stop."""
    pairs = []
    for index in range(5, 620, 40):
        samples, segments = _recording(index)
        phones = [s for s in segments if s[2] != "pau"]
        first, last = phones[0][0], phones[-1][1]
        pauses = [s for s in segments if s[2] == "pau" and s[1] - s[0] >= 0.15
                  and 0.3 < (s[0] - first) / (last - first) < 0.9]
        if not pauses:
            continue
        room = samples[:int(first * SAMPLE_RATE)]
        pairs.append((detector.probability(_after_silence(samples, last, room)),
                      detector.probability(_after_silence(samples, pauses[-1][0], room))))
    assert len(pairs) >= 10
    finished, paused = np.array(pairs).T
    assert np.mean(finished > paused) >= 0.7, pairs
    assert np.median(finished) > np.median(paused), pairs


def test_short_silent_and_long_audio(detector):
    speech, _ = _recording(0)
    for samples in (np.zeros(0, np.float32), speech[:800], np.zeros(2 * SAMPLE_RATE, np.float32),
                    speech, np.concatenate([speech, speech])):
        p = detector.probability(samples)
        assert isinstance(p, float) and 0.0 <= p <= 1.0
    # only the last 8 s count; PCM16 is taken as such
    assert detector.probability(np.concatenate([speech, speech])) == detector.probability(speech[-WINDOW:])
    pcm = (speech * 32767).astype(np.int16)
    assert detector.probability(pcm) == pytest.approx(detector.probability(pcm.astype(np.float32) / 32768))
    with pytest.raises(InputError):
        detector.probability(np.zeros((2, 1000), np.float32))


def test_concurrent_calls_answer_as_serial_ones(detector):
    speech, _ = _recording(1)
    clips = [speech[:n] for n in (16000, 40000, 80000, speech.size)]
    serial = [detector.probability(c) for c in clips]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(detector.probability, clips)) == serial


def test_describe(detector):
    info = detector.describe()
    assert Path(info["model"]).name == "smart-turn-v3.2-cpu.onnx" and info["threads"] == 1
    assert info["inputs"] == {"input_features": [info["inputs"]["input_features"][0], 80, 800]}


def test_missing_model_or_package(tmp_path, monkeypatch):
    with pytest.raises(EngineUnavailable) as missing:
        SmartTurn(tmp_path / "nope.onnx")
    assert "нет файла модели" in missing.value.message_ru
    assert "pip install --no-deps pipecat-ai==" in missing.value.message_en
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pipecat" else real_find_spec(name, *a))
    with pytest.raises(EngineUnavailable, match="pipecat-ai"):
        SmartTurn()
