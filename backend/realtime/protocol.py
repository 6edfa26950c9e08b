"""The conversation namespace's messages (validated at the edge; anything else gets an error event).

Client -> server: ``start`` (StartMessage), ``audio`` (bytes), ``audio_end``, ``text`` (TextMessage),
``stop``. Server -> client: ``ready``, ``init`` and ``segment`` (MP4 bytes with timeline position),
``progress``, ``speech_start``, ``transcript``, ``reply``, ``timings``, ``turn_end``, ``interrupted``,
``error``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NAMESPACE = "/conversation"
MAX_ID = 2**63 - 1  # database ids are signed 64-bit


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartMessage(_Message):
    """Open a conversation: which persona, which session to continue, how audio will arrive."""

    persona_id: int | None = Field(None, ge=1, le=MAX_ID)  # default: the first persona
    session_id: int | None = Field(None, ge=1, le=MAX_ID)  # default: a new session
    avatar_id: str | None = Field(None, pattern=r"^[0-9a-f]{16}$")  # a prepared photo; default avatar if absent
    audio_format: Literal["webm", "ogg", "pcm16"] = "webm"
    sample_rate: int = Field(16000, ge=8000, le=48000)  # for pcm16
    greet: bool = False  # the avatar says the persona's greeting first


class TextMessage(_Message):
    text: str = Field(min_length=1, max_length=2000)


def error_payload(code: str, message: str, detail: str = "") -> dict[str, str]:
    return {"code": code, "message": message, "detail": detail or message}
