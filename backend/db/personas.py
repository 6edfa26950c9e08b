"""Persona repository: create, read, update, delete, with validation that speaks Russian.

Every function takes an ORM ``Session`` and commits its own work, so one call is one unit of work.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ai_pipeline.errors import InputError
from ai_pipeline.llm.prompt import PersonaCard
from backend.db.errors import NotFound
from backend.db.ids import valid_id
from backend.db.models import Persona

NAME_CHARS = (1, 60)
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})  # U+200B-D, U+2060, U+FEFF are Cf
BLANK_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")  # fillers that print as nothing
AGE_RANGE = (1, 120)
GENDERS = ("female", "male")
LANGUAGES = ("ru",)
MAX_INTERESTS = 20
INTEREST_CHARS = 60
TEXT_LIMITS = {"temperament": 300, "speech_style": 300, "greeting": 300, "notes": 2000}
TEXT_LABELS = {"temperament": "Характер", "speech_style": "Стиль речи", "greeting": "Приветствие", "notes": "Заметки"}
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch: "abc\n" is not an id
_TTS_VOICE_RE = re.compile(r"[a-z0-9-]{1,64}")  # a TTS engine's voice name; the engine's list is checked by the API
FIELDS = ("name", "age", "gender", *TEXT_LIMITS, "interests", "language", "avatar_id", "voice_id", "tts_voice")
REQUIRED = ("name", "age")


def visible_strip(text: str) -> str:
    """``text`` without the spaces and invisible characters (zero-width, BOM, controls) around it."""
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def _invisible(ch: str) -> bool:
    return ch.isspace() or ch in BLANK_LETTERS or unicodedata.category(ch) in INVISIBLE_CATEGORIES


def _bad(field: str, message_ru: str) -> InputError:
    return InputError(message_ru, f"invalid persona field: {field}", code="bad_persona")


def _clean_text(field: str, value: Any) -> str:
    value = "" if value is None else value
    if not isinstance(value, str):
        raise _bad(field, f"Поле «{TEXT_LABELS[field]}» должно быть текстом.")
    value = value.strip()
    if len(value) > TEXT_LIMITS[field]:
        raise _bad(field, f"Поле «{TEXT_LABELS[field]}» длиннее {TEXT_LIMITS[field]} символов.")
    return value


def _clean_interests(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # "рисование, музыка" from a simple form field
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _bad("interests", "Интересы: список слов или строка через запятую.")
    items = [v.strip() for v in value if v.strip()]
    if len(items) > MAX_INTERESTS or any(len(v) > INTEREST_CHARS for v in items):
        raise _bad("interests", f"Интересов не больше {MAX_INTERESTS}, каждый не длиннее {INTEREST_CHARS} символов.")
    return list(dict.fromkeys(items))


def _clean_field(field: str, value: Any) -> Any:
    if field == "name":
        name = visible_strip(value) if isinstance(value, str) else ""
        if not NAME_CHARS[0] <= len(name) <= NAME_CHARS[1]:
            raise _bad(field, f"Имя должно быть от {NAME_CHARS[0]} до {NAME_CHARS[1]} символов.")
        return name
    if field == "age":
        if isinstance(value, bool) or not isinstance(value, int) or not AGE_RANGE[0] <= value <= AGE_RANGE[1]:
            raise _bad(field, f"Возраст должен быть целым числом от {AGE_RANGE[0]} до {AGE_RANGE[1]}.")
        return value
    if field == "gender":
        if value not in GENDERS:
            raise _bad(field, "Пол персонажа: «female» (женский) или «male» (мужской).")
        return value
    if field == "language":
        if value not in LANGUAGES:
            raise _bad(field, "Пока поддерживается только русский язык (language = «ru»).")
        return value
    if field in ("avatar_id", "voice_id"):
        if value is not None and not (isinstance(value, str) and _ID_RE.fullmatch(value)):
            raise _bad(field, "Неверный идентификатор фото или голоса (латиница, цифры, «-» и «_», до 64 символов).")
        return value
    if field == "tts_voice":
        value = value or None  # "" from a form: the default voice
        if value is not None and not (isinstance(value, str) and _TTS_VOICE_RE.fullmatch(value)):
            raise _bad(field, "Неверное имя голоса синтеза речи (строчная латиница, цифры и «-», до 64 символов).")
        return value
    if field == "interests":
        return _clean_interests(value)
    return _clean_text(field, value)


def clean_persona_fields(fields: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate and normalise persona fields; ``partial`` allows leaving required fields out (PATCH)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise InputError("Неизвестные поля персонажа: " + ", ".join(sorted(unknown)) + ".",
                         f"unknown persona fields: {sorted(unknown)}", code="bad_persona")
    missing = [f for f in REQUIRED if f not in fields]
    if missing and not partial:
        raise _bad(missing[0], "Нужно указать имя и возраст персонажа.")
    return {field: _clean_field(field, value) for field, value in fields.items()}


def create_persona(db: Session, fields: Mapping[str, Any]) -> Persona:
    """Create a persona from validated ``fields`` (``name`` and ``age`` are required)."""
    persona = Persona(**{"gender": "female", "language": "ru", "interests": [], **clean_persona_fields(fields)})
    db.add(persona)
    db.commit()
    return persona


def get_persona(db: Session, persona_id: int) -> Persona:
    """The persona, or ``NotFound``."""
    persona = db.get(Persona, persona_id) if valid_id(persona_id) else None
    if persona is None:
        raise NotFound("Персонаж не найден.", f"persona {persona_id} not found")
    return persona


def list_personas(db: Session) -> list[Persona]:
    """All personas, oldest first."""
    return list(db.scalars(select(Persona).order_by(Persona.id)))


def count_personas(db: Session) -> int:
    return db.scalar(select(func.count(Persona.id))) or 0


def update_persona(db: Session, persona_id: int, changes: Mapping[str, Any]) -> Persona:
    """Change the given fields (PATCH); pass every field to replace the persona (PUT)."""
    persona = get_persona(db, persona_id)
    for field, value in clean_persona_fields(changes, partial=True).items():
        setattr(persona, field, value)
    db.commit()
    return persona


def delete_persona(db: Session, persona_id: int) -> None:
    """Delete the persona with its sessions, messages, facts and summaries."""
    db.delete(get_persona(db, persona_id))
    db.commit()


def first_persona_id(db: Session) -> int:
    """The id of the oldest persona (the seeded one on a fresh install)."""
    persona = db.scalars(select(Persona).order_by(Persona.id).limit(1)).first()
    if persona is None:
        raise NotFound("Персонажей пока нет.", "No personas yet.")
    return persona.id


def persona_card(persona: Persona) -> PersonaCard:
    """The prompt builder's view of a persona."""
    return PersonaCard(name=persona.name, age=persona.age, gender=persona.gender, temperament=persona.temperament,
                       interests=tuple(persona.interests or ()), speech_style=persona.speech_style,
                       greeting=persona.greeting, notes=persona.notes, language=persona.language)
