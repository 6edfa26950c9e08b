"""Is the trained GPT better than the voice without training? A test sentence spoken both ways.

The same XTTS base checkpoint speaks :data:`TEST_SENTENCE` with the voice's conditioning twice: with
the published GPT (the voice as it is, no fine-tuning) and with the trained one. Each is compared
with the enrolled speech (speaker similarity, :mod:`ai_pipeline.voice.similarity`) and transcribed
by the ASR (word error rate against the sentence). The trained voice wins when it is more similar
and its WER is not worse by more than :data:`WER_SLACK`.

Both candidates live in folders under the work folder (the voice store is not touched), so the
conditioning latents computed here never mix with the store's caches.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from ai_pipeline import registry
from ai_pipeline.asr.base import SAMPLE_RATE as ASR_RATE
from ai_pipeline.asr.metrics import wer
from ai_pipeline.chunks import AudioChunk
from ai_pipeline.settings import Settings
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.speaker import VoicedTTS
from ai_pipeline.voice.train.progress import Progress, TrainProgress

TEST_SENTENCE = "Здравствуйте! Сегодня прекрасная погода, давайте немного погуляем в парке."
WER_SLACK = 0.05


@dataclass(frozen=True)
class Candidate:
    similarity: float
    wer: float
    transcript: str
    seconds: float


@dataclass(frozen=True)
class Validation:
    """Both candidates' scores and the verdict (``better``: the trained voice should be used)."""

    text: str
    before: Candidate
    after: Candidate
    better: bool
    reason: str  # Russian, one sentence

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _candidate_voice(voice: Voice, folder: Path, gpt: Path | None) -> Voice:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.symlink((voice.folder / "prepared").resolve(), folder / "prepared", target_is_directory=True)
    if gpt is not None:
        from ai_pipeline.tts.xtts import TRAINED_GPT_FILE

        shutil.copy2(gpt, folder / TRAINED_GPT_FILE)
    return Voice(voice.id, voice.name, voice.version, folder)


def _score(tts: Any, asr: Any, voice: Voice, reference: np.ndarray, text: str) -> Candidate:
    from ai_pipeline.voice.similarity import cosine, embed

    chunks = VoicedTTS(tts, voice).synthesize(text)
    audio = np.concatenate([c.samples for c in chunks]).astype(np.float32)
    rate = chunks[0].sample_rate
    heard = asr.transcribe(resample_poly(audio, ASR_RATE, rate).astype(np.float32), language="ru").text
    try:
        similarity = cosine(embed(AudioChunk(audio, rate, text)), reference)
    except ValueError:  # nothing long enough to embed: no resemblance at all
        similarity = 0.0
    return Candidate(round(similarity, 4), round(wer(text, heard), 4), heard, round(len(audio) / rate, 2))


def validate_trained(voice: Voice, gpt: Path, base: Path, settings: Settings, work: Path,
                     progress: Progress | None = None, text: str = TEST_SENTENCE) -> Validation:
    """Score the voice with the published GPT and with ``gpt`` (blocking: two syntheses, two transcriptions)."""
    from ai_pipeline.tts.xtts import XttsSettings, XttsTTS
    from ai_pipeline.voice.similarity import embed, enrolled_speech

    report = progress or (lambda p: None)
    report(TrainProgress("validation", 0.0, "Проверка: загружаем модели"))
    from ai_pipeline.gpu import gpu_manager

    # with a live XTTS engine on the GPU, or a conversation open (whose engines it could evict), this
    # second copy runs on the CPU: slower, but it takes no memory a conversation may need
    ledger = gpu_manager().describe()
    taken = any(e["name"] == "xtts" for e in ledger["engines"]) or bool(ledger["conversations"])  # type: ignore[index,union-attr]
    tts = XttsTTS(XttsSettings(model_dir=base.resolve(), device="cpu" if taken else "auto"), settings.models_dir)
    current_gpt = voice.folder / "xtts_gpt.pth"  # the voice as it is may already be a trained version
    asr = registry.build("asr", settings.asr, settings.models_dir)
    try:
        tts.load()
        asr.load()
        reference = embed(enrolled_speech(voice))
        report(TrainProgress("validation", 0.2, "Проверка: голос без обучения"))
        before = _score(tts, asr, _candidate_voice(voice, work / "validate" / "before",
                                                        current_gpt if current_gpt.is_file() else None), reference, text)
        report(TrainProgress("validation", 0.6, "Проверка: обученный голос"))
        after = _score(tts, asr, _candidate_voice(voice, work / "validate" / "after", gpt), reference, text)
    finally:
        tts.close()
        asr.close()
    more_similar = after.similarity > before.similarity
    clear = after.wer <= before.wer + WER_SLACK
    better = more_similar and clear
    def num(value: float) -> str:
        return f"{value:.2f}".replace(".", ",")

    if better:
        reason = (f"Обученный голос лучше: сходство с записями {num(after.similarity)} против {num(before.similarity)}, "
                  f"ошибок в словах {after.wer:.0%} против {before.wer:.0%}, и теперь персонаж говорит им.")
    elif not more_similar:
        reason = (f"Обученный голос не стал ближе к записям (сходство {num(after.similarity)} против "
                  f"{num(before.similarity)}), поэтому персонаж говорит прежним голосом.")
    else:
        reason = (f"Обученный голос хуже понятен на слух (ошибок в словах {after.wer:.0%} против {before.wer:.0%}), "
                  "поэтому персонаж говорит прежним голосом.")
    report(TrainProgress("validation", 1.0, reason))
    return Validation(text, before, after, better, reason)
