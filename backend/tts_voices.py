"""The TTS engine's standard voices as the backend uses them: a persona's pick, its check, a preview.

A standard voice is one the engine ships with (RHVoice: «Анна», «Александр», ...); an enrolled voice
(``ai_pipeline.voice``) is matched on top of it. Engines with one voice have none: any persona value
is then stored and ignored.
"""

from __future__ import annotations

import io
import logging
import re
import wave
from typing import TYPE_CHECKING

import numpy as np

from ai_pipeline import registry
from ai_pipeline.errors import InputError
from ai_pipeline.tts.base import StandardVoice, TTSEngine

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger(__name__)
NAME_RE = re.compile(r"[a-z0-9-]{1,64}")  # fullmatch
GENDER_RU = {"female": "женский", "male": "мужской"}


def current_tts(runtime: Runtime) -> TTSEngine:
    """The runtime's TTS engine; before it is loaded (a process that has not started the stage) the
    configured engine, built but not loaded (its voice list needs no loading)."""
    if runtime.pipeline.tts is not None:
        return runtime.pipeline.tts
    settings = runtime.settings
    return registry.build("tts", settings.tts, settings.models_dir)


def voice_list_ru(voices: list[StandardVoice]) -> str:
    return ", ".join(f"{v.name} ({v.label_ru})" for v in voices) or "—"


def check_tts_voice(tts: TTSEngine, name: str | None) -> StandardVoice | None:
    """The standard voice ``name`` of ``tts``; InputError ``unknown_voice`` (422) listing the voices
    when the engine has voices and this is not one of them. None: no name, or an engine without voices."""
    voices = tts.standard_voices()
    if name is None or not voices:
        return None
    found = next((v for v in voices if v.name == name), None)
    if found is None:
        raise InputError(f"Голос «{name}» недоступен. Доступные голоса: {voice_list_ru(voices)}.",
                         f"unknown or not allowed TTS voice {name!r} for engine {tts.name!r}; "
                         f"voices: {', '.join(v.name for v in voices)}", code="unknown_voice")
    return found


def persona_tts(tts: TTSEngine, tts_voice: str | None, gender: str | None, *, who: object = "") -> TTSEngine:
    """``tts`` speaking a persona's standard voice: its own pick, else the engine's voice for its gender.

    A pick that is no longer allowed or installed is logged and replaced by the gender's voice."""
    try:
        return tts.with_voice(tts_voice or tts.voice_for(gender))
    except InputError as exc:
        log.warning("persona %s: TTS voice %r unusable (%s); using the %s default", who, tts_voice, exc, gender)
        return tts.with_voice(tts.voice_for(gender))


def standard_voice_name(tts: TTSEngine) -> str | None:
    """The standard voice ``tts`` speaks (None: an engine without voices to pick from)."""
    voice = tts.describe().get("voice") if tts.standard_voices() else None
    return str(voice) if voice is not None else None


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Float mono samples in [-1, 1] as a 16-bit PCM WAV file."""
    pcm = (np.clip(np.nan_to_num(np.asarray(samples, np.float32)), -1.0, 1.0) * 32767.0).round().astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def synthesize_wav(tts: TTSEngine, text: str) -> bytes:
    """The whole ``text`` in ``tts``'s voice as one WAV (blocking)."""
    chunks = tts.synthesize(text)
    return wav_bytes(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate)
