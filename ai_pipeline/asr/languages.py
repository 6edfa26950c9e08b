"""Language codes the Whisper-family recognisers know, checked before any audio is decoded."""

from __future__ import annotations

from ai_pipeline.errors import InputError

AUTO = "auto"  # detect the language
WHISPER_LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu "
    "hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro "
    "ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue".split())


def check_language(language: str | None) -> str | None:
    """``language`` (None: the setting), or ``InputError`` for a code no recogniser knows."""
    if language is None or language == AUTO or language in WHISPER_LANGUAGES:
        return language
    shown = language if len(language) <= 16 else language[:15] + "…"
    raise InputError(f"Неизвестный язык распознавания «{shown}»: укажите код вроде ru, en или auto.",
                     f"unknown ASR language {shown!r}", code="bad_language")
