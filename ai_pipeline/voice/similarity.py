"""Speaker similarity with resemblyzer's GE2E speaker encoder (its weights ship inside the package).

Speech is resampled to 16 kHz, its long silences trimmed (resemblyzer's webrtcvad preprocessing),
embedded utterance by utterance and averaged into one L2-normalised speaker embedding; the
similarity of two sets of speech is the cosine of their embeddings (about 0.5-0.7 for different
people, 0.8-0.95 for the same voice). The encoder is loaded lazily, once per process, on the CPU.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import EngineUnavailable
from ai_pipeline.tts.base import TTSEngine
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.speaker import VoicedTTS

SIMILARITY_TEXT = ("Добрый вечер! Я очень рада нашей встрече. Давайте поговорим о том, что вам интересно: "
                   "о книгах, о путешествиях или о музыке. Расскажите, пожалуйста, как прошла ваша неделя?")
ENCODER_RATE = 16000
ENROLLED_SECONDS = 30.0  # enrolled speech embedded for the comparison (evenly sampled; ~1 s of CPU per 4 s)
_lock = threading.Lock()

Speech = AudioChunk | Sequence[AudioChunk]


@lru_cache(maxsize=1)
def encoder() -> Any:
    """resemblyzer's VoiceEncoder on the CPU (loaded on first use, ~0.1 s)."""
    try:
        from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise EngineUnavailable("Оценка похожести голоса недоступна: не установлен resemblyzer.",
                                f"resemblyzer not importable ({exc}); pip install --no-deps resemblyzer librosa "
                                "and pip install webrtcvad soxr audioread decorator msgpack joblib pooch") from None
    return VoiceEncoder("cpu", verbose=False)


def _to_encoder_rate(chunk: AudioChunk) -> np.ndarray:
    samples = chunk.samples.astype(np.float32)
    if chunk.sample_rate != ENCODER_RATE:
        import soxr

        samples = soxr.resample(samples, chunk.sample_rate, ENCODER_RATE).astype(np.float32)
    return samples


def embed(speech: Speech) -> np.ndarray:
    """One L2-normalised 256-d speaker embedding for a chunk or a list of chunks (blocking)."""
    from resemblyzer import preprocess_wav

    chunks = [speech] if isinstance(speech, AudioChunk) else list(speech)
    wavs = []
    for chunk in chunks:
        wav = preprocess_wav(_to_encoder_rate(chunk))
        if len(wav) >= ENCODER_RATE // 4:  # under 0.25 s of speech says nothing about the speaker
            wavs.append(wav)
    if not wavs:
        raise ValueError("no speech long enough to embed")
    model = encoder()
    with _lock:  # torch modules are not re-entrant across threads
        return np.asarray(model.embed_speaker(wavs), dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def similarity(samples_a: Speech, samples_b: Speech) -> float:
    """Cosine similarity of the speakers of two sets of speech (-1..1, higher is more alike)."""
    return cosine(embed(samples_a), embed(samples_b))


def enrolled_speech(voice: Voice, max_seconds: float = ENROLLED_SECONDS) -> list[AudioChunk]:
    from ai_pipeline.voice.profile import load_utterances

    return load_utterances(voice.prepared, max_seconds)


def voice_similarity(voice: Voice, tts: TTSEngine, text: str = SIMILARITY_TEXT) -> dict[str, Any]:
    """How close ``tts`` speaking ``text`` with and without the voice gets to the enrolled samples.

    ``matched`` is the engine with the voice (light matching or cloning), ``unmatched`` its own
    voice; both are cosines against the enrolled speech. Blocking (a few seconds).
    """
    reference = embed(enrolled_speech(voice))
    plain = tts.synthesize(text)
    voiced = VoicedTTS(tts, voice).synthesize(text)
    return {"matched": round(cosine(embed(voiced), reference), 4),
            "unmatched": round(cosine(embed(plain), reference), 4),
            "text": text, "engine": tts.name, "voice": voice.key}


def rank_standard_voices(voice: Voice, tts: TTSEngine, text: str = SIMILARITY_TEXT,
                         progress: Any = None) -> list[dict[str, Any]]:
    """``tts``'s standard voices, the one that gets closest to the enrolled speech once matched first.

    Matching moves pitch, formants and tempo, not timbre, so the base voice matters, and the closest
    voice before matching is not always the closest after (a higher male voice: Irina is nearer as
    she is, Aleksandr once matched). Each row has ``matched`` and ``unmatched`` cosines. Blocking:
    per voice a calibration (cached in the voice folder) and one sentence, spoken and matched.
    """
    voices = tts.standard_voices()
    reference = embed(enrolled_speech(voice)) if voices else None
    ranked = []
    for index, standard in enumerate(voices):
        if progress is not None:
            progress(index / len(voices), f"Пробуем голос «{standard.label_ru}»")
        base = tts.with_voice(standard.name)
        plain = base.synthesize(text)  # spoken once, matched from it
        matcher = VoicedTTS(base, voice).matcher()
        matched = [matcher.apply(chunk) for chunk in plain] if matcher is not None else plain
        ranked.append({"name": standard.name, "label": standard.label_ru, "gender": standard.gender,
                       "matched": round(cosine(embed(matched), reference), 4),
                       "unmatched": round(cosine(embed(plain), reference), 4)})
    return sorted(ranked, key=lambda row: -row["matched"])


def write_similarity(voice: Voice, result: dict[str, Any]) -> None:
    (voice.folder / "similarity.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
