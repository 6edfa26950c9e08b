"""Request and response bodies of the persona and history API.

Requests only check types; the repository checks values, so its Russian messages reach the user.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PersonaIn(BaseModel):
    """A whole persona (POST, PUT). ``interests``: a list, or one string separated by commas."""

    model_config = ConfigDict(extra="forbid")

    name: str
    age: int
    gender: str = "female"
    temperament: str = ""
    interests: list[str] | str = []
    speech_style: str = ""
    greeting: str = ""
    notes: str = ""
    language: str = "ru"
    avatar_id: str | None = None
    voice_id: str | None = None
    tts_voice: str | None = Field(None, description="A standard voice of the TTS engine (GET /api/tts/voices); "
                                  "null: the engine's voice for the persona's gender")


class PersonaPatch(BaseModel):
    """Some persona fields (PATCH); ``avatar_id``/``voice_id``/``tts_voice`` may be set to null."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    age: int | None = None
    gender: str | None = None
    temperament: str | None = None
    interests: list[str] | str | None = None
    speech_style: str | None = None
    greeting: str | None = None
    notes: str | None = None
    language: str | None = None
    avatar_id: str | None = None
    voice_id: str | None = None
    tts_voice: str | None = None


class PersonaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    age: int
    gender: str
    temperament: str
    interests: list[str]
    speech_style: str
    greeting: str
    notes: str
    language: str
    avatar_id: str | None
    voice_id: str | None
    tts_voice: str | None
    created_at: datetime
    updated_at: datetime


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    persona_id: int
    title: str | None
    started_at: datetime
    last_message_at: datetime | None
    message_count: int


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    role: str
    text: str
    emotion: str | None
    timings: dict[str, float] | None
    created_at: datetime


class MessagesPage(BaseModel):
    """Messages oldest first; ask for ``?before=<next_before>`` to get the page before (None: no more)."""

    items: list[MessageOut]
    next_before: int | None


class FactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    value: str
    updated_at: datetime
