"""Preparing an enrolled voice for the configured TTS engine (the REST job and the CLI call this).

:func:`prepare_voice` checks that the voice has enough speech and dispatches on the engine: a
cloning engine (``capabilities.voice_cloning``) computes its own conditioning in
:meth:`~ai_pipeline.tts.base.TTSEngine.prepare_voice` (XTTS: the speaker latents); any other
engine gets :func:`prepare_matching`: the speaker profile (``profile.json``), for an engine with
standard voices the one closest to the samples (``base_voice``: matching moves pitch, formants and
tempo but not timbre, so the base matters; measured with ``scripts/bench.py voice``: towards a male
speaker, RHVoice's anna reaches 0.69-0.72 and aleksandr 0.86-0.92; the voices are ranked by their
similarity after matching), the engine's calibration, and
the speaker similarity of matched and unmatched speech to the samples (``similarity.json``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ai_pipeline.errors import EngineUnavailable, InputError
from ai_pipeline.tts.base import TTSEngine
from ai_pipeline.voice.base import MIN_SECONDS, Voice
from ai_pipeline.voice.match import VoiceMatcher, source_profile
from ai_pipeline.voice.profile import voice_profile, write_profile
from ai_pipeline.voice.similarity import SIMILARITY_TEXT, rank_standard_voices, voice_similarity, write_similarity

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


def prepare_voice(voice: Voice, tts: TTSEngine, progress: Progress | None = None) -> dict[str, Any]:
    """Prepare ``voice`` for ``tts`` (blocking: seconds for light matching, longer for cloning)."""
    report = progress or (lambda fraction, message: None)
    usable = voice.report()
    if not voice.prepared:
        raise InputError("У голоса нет записей речи: добавьте образцы.", f"Voice {voice.key} has no utterances",
                         code="voice_not_ready")
    if usable is not None and not usable.enough:
        raise InputError(f"Мало речи для голоса: {usable.usable_s:.0f} с, нужно не меньше {MIN_SECONDS:.0f} с.",
                         f"Voice {voice.key} has {usable.usable_s:.1f} s of speech < {MIN_SECONDS} s",
                         code="voice_not_enough")
    started = time.perf_counter()
    report(0.0, "Подготовка голоса")
    if tts.capabilities.voice_cloning:
        result = tts.prepare_voice(voice, report)
    else:
        result = prepare_matching(tts, voice, report)
    report(1.0, "Голос готов")
    return {"voice": voice.key, "id": voice.id, "version": voice.version, "engine": tts.name,
            "seconds": round(time.perf_counter() - started, 2), **result}


def prepare_matching(tts: TTSEngine, voice: Voice, progress: Progress | None = None) -> dict[str, Any]:
    """Light matching: profile, the closest standard voice as the base (engines with several),
    calibration, similarity (see the module docstring)."""
    report = progress or (lambda fraction, message: None)
    report(0.05, "Анализ голоса: высота, темп и тембр")
    profile = voice_profile(voice)
    write_profile(voice, profile)
    ranking: list[dict[str, Any]] = []
    similarity: dict[str, Any] | None = None
    if tts.standard_voices():
        def ranking_progress(fraction: float, message: str) -> None:
            report(0.1 + 0.8 * fraction, message)

        try:
            ranking = rank_standard_voices(voice, tts, progress=ranking_progress)
            tts = tts.with_voice(ranking[0]["name"])
            best = ranking[0]
            similarity = {"matched": best["matched"], "unmatched": best["unmatched"], "text": SIMILARITY_TEXT,
                          "engine": tts.name, "voice": voice.key, "base_voice": best["name"],
                          "standard_voices": ranking}
        except EngineUnavailable as exc:  # no speaker encoder: the configured voice stays the base
            log.warning("standard voice ranking skipped: %s", exc)
    report(0.9 if ranking else 0.5, "Настройка синтеза речи под голос")
    matcher = VoiceMatcher(source_profile(tts, cache_dir=voice.folder), profile)
    if similarity is None:
        report(0.65, "Оценка похожести голоса")
        try:
            similarity = voice_similarity(voice, tts)
        except EngineUnavailable as exc:  # the speaker encoder is optional: matching works without it
            log.warning("voice similarity skipped: %s", exc)
    if similarity is not None:
        write_similarity(voice, similarity)
    return {"mode": "matching", "profile": profile.to_dict(), "matching": matcher.describe(),
            "similarity": similarity, "base_voice": ranking[0]["name"] if ranking else None,
            "standard_voices": ranking}
