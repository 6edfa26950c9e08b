"""What one render is asked to do: speak a text (optionally in a standard and/or an enrolled voice) or
lip-sync a recording.

The rule is checked here once, for the API (``POST /api/render``), the CLI (``avatar render``) and
``Pipeline.render`` alike: text or audio, not both; a voice (enrolled or standard) only with text. A
blank text counts as no text. Callers hand over what they have (the recording as uploaded, a voice's id or name);
``Pipeline.resolve`` decodes the recording, checks the text against the limits and looks the voice up.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, InstanceOf, field_validator, model_validator

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.errors import InputError
from ai_pipeline.voice.base import Voice


class RenderRequest(BaseModel):
    """Text xor audio; ``voice`` only with text. A broken rule raises ``InputError`` (never a ValidationError)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str | None = None
    audio: bytes | InstanceOf[AudioChunk] | None = None  # an encoded recording (any format), or decoded samples
    voice: str | InstanceOf[Voice] | None = None  # an enrolled voice's id or name, or the voice itself
    tts_voice: str | None = None  # a standard voice of the TTS engine (None: its configured voice)
    emotion: str | None = None  # one of ai_pipeline.emotion.base.EMOTIONS, shown on the face for the whole clip

    @field_validator("emotion", mode="after")
    @classmethod
    def _known_emotion(cls, value: str | None) -> str | None:
        from ai_pipeline.emotion.base import EMOTIONS

        if value is not None and value not in EMOTIONS:
            raise InputError(f"Неизвестная эмоция «{value}». Возможные: {', '.join(EMOTIONS)}.",
                             f"Unknown emotion {value!r}.", code="bad_emotion")
        return value

    @field_validator("text", "voice", "tts_voice", "emotion", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _text_xor_audio(self) -> RenderRequest:
        if self.text is None and self.audio is None:
            raise InputError("Нужен текст или аудиозапись.", "Provide text or audio.", code="empty_text")
        if self.text is not None and self.audio is not None:
            raise InputError("Укажите либо текст, либо аудио, но не оба сразу.", "Both text and audio given.",
                             code="bad_request")
        if (self.voice is not None or self.tts_voice is not None) and self.audio is not None:
            raise InputError("Голос применяется только к тексту, а не к аудиозаписи.", "A voice needs text.",
                             code="bad_request")
        return self

    @property
    def kind(self) -> Literal["text", "audio"]:
        return "text" if self.text is not None else "audio"
