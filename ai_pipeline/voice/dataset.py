"""A training set from an enrolled voice: prepared utterances + Whisper transcripts, LJSpeech layout.

    <out>/wavs/utt_0001.wav        the prepared utterance (mono PCM16, 24 kHz), linked or copied
    <out>/metadata.csv             utt_0001|raw transcript|text as the model reads it
    <out>/metadata_train.csv       the same lines, split: every ``eval_every``-th one goes to
    <out>/metadata_eval.csv        the evaluation set (at least one line when there are two or more)
    <out>/transcripts.json         the ASR result per utterance: a re-run transcribes only new files

The third column is what the TTS model will be given at inference: our normaliser's output (numbers
and abbreviations spelt out) passed through ``front_end`` (e.g. ``ё`` restoration). Utterances whose
transcript is empty or implausible for their length (fewer than ~1.5 characters per second: mostly
noise or a failed recognition) are left out and counted.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ai_pipeline.asr.base import SAMPLE_RATE as ASR_RATE
from ai_pipeline.asr.base import ASREngine
from ai_pipeline.errors import InputError
from ai_pipeline.text.normalize import normalize_for_speech
from ai_pipeline.voice.base import PREPARED_RATE, Voice
from ai_pipeline.voice.profile import read_wav

Progress = Callable[[float, str], None]
MIN_CHARS_PER_S = 1.5


@dataclass(frozen=True)
class DatasetInfo:
    """What was written: counts, seconds of speech and the metadata paths."""

    folder: Path
    train: int
    eval: int
    skipped: int
    seconds: float
    transcribed: int  # utterances sent to ASR in this run (the rest came from transcripts.json)

    @property
    def train_csv(self) -> Path:
        return self.folder / "metadata_train.csv"

    @property
    def eval_csv(self) -> Path:
        return self.folder / "metadata_eval.csv"

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "folder": str(self.folder)}


def _link(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _clean(text: str) -> str:
    return " ".join(text.replace("|", " ").split())


def build_dataset(voice: Voice, asr: ASREngine, out: Path, *, language: str = "ru", eval_every: int = 10,
                  front_end: Callable[[str], str] | None = None, progress: Progress | None = None) -> DatasetInfo:
    """Transcribe ``voice``'s prepared utterances with ``asr`` and write the LJSpeech-style set."""
    report = progress or (lambda fraction, message: None)
    paths = voice.prepared
    if not paths:
        raise InputError("У голоса нет записей речи: добавьте образцы.", f"Voice {voice.key} has no utterances",
                         code="voice_not_ready")
    out = Path(out)
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    cache_path = out / "transcripts.json"
    cache: dict[str, str] = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    lines, skipped, seconds, transcribed = [], 0, 0.0, 0
    for i, path in enumerate(paths):
        report(i / len(paths), f"Распознавание записи {i + 1} из {len(paths)}")
        audio = read_wav(path)
        if audio.sample_rate != PREPARED_RATE:
            raise InputError("Записи голоса подготовлены в неверном формате.",
                             f"{path} is {audio.sample_rate} Hz, expected {PREPARED_RATE}", code="voice_not_ready")
        key = f"{voice.key}/{path.name}"
        if key not in cache:
            samples16k = resample_poly(audio.samples, ASR_RATE, PREPARED_RATE).astype(np.float32)
            cache[key] = _clean(asr.transcribe(samples16k, language=language).text)
            cache_path.write_text(json.dumps(cache, ensure_ascii=False, indent=1))
            transcribed += 1
        raw = cache[key]
        spoken = _clean(normalize_for_speech(raw)) if raw else ""
        if spoken and front_end is not None:
            spoken = _clean(front_end(spoken))
        if len(spoken) < MIN_CHARS_PER_S * audio.duration:
            skipped += 1
            continue
        _link(path, out / "wavs" / path.name)
        lines.append(f"{path.stem}|{raw}|{spoken}")
        seconds += audio.duration
    if not lines:
        raise InputError("Не удалось распознать речь ни в одной записи голоса.",
                         f"no usable transcript among {len(paths)} utterances of {voice.key}", code="voice_not_ready")
    every = max(2, eval_every)
    evaluation = [ln for i, ln in enumerate(lines) if len(lines) > 1 and i % every == every - 1] or (
        lines[-1:] if len(lines) > 1 else [])
    train = [ln for ln in lines if ln not in evaluation]
    for name, chosen in (("metadata.csv", lines), ("metadata_train.csv", train), ("metadata_eval.csv", evaluation)):
        (out / name).write_text("".join(f"{ln}\n" for ln in chosen), encoding="utf-8")
    report(1.0, f"Набор данных готов: {len(lines)} фраз, {seconds / 60:.1f} мин")
    return DatasetInfo(out, len(train), len(evaluation), skipped, round(seconds, 2), transcribed)
