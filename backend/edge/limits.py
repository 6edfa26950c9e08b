"""Request body limits per route, enforced while the body streams in.

Uploads may be as large as ``limits.max_upload_mb`` per file (render takes a photo and a recording),
voice enrolment ``limits.max_voice_mb`` in all, anything else (JSON) ``limits.max_json_kb``. A
``Content-Length`` over the limit is refused before a byte is read; a body without one (chunked) is
counted as it arrives and refused as soon as it passes the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import Message, Receive

from ai_pipeline.settings import LimitSettings

MULTIPART_OVERHEAD = 256 * 1024  # part headers, boundaries and small form fields around the files
UPLOAD_FILES = {"/api/render": 2, "/api/avatars": 1, "/api/transcribe": 1}  # files per request
_VOICE_UPLOAD = re.compile(r"/api/voices(/[^/]+/samples)?/?")
UNLIMITED_PREFIXES = ("/socket.io",)  # engine.io bounds its own messages (max_http_buffer_size)


@dataclass(frozen=True)
class BodyLimit:
    """At most ``max_bytes`` of body; ``what`` names it in the Russian error."""

    max_bytes: int
    what: str

    def message_ru(self) -> str:
        size = f"{self.max_bytes / 1_000_000:g} МБ" if self.max_bytes >= 1_000_000 else f"{self.max_bytes // 1024} КБ"
        return f"Слишком большой запрос ({self.what}): допускается не больше {size}."


def body_limit(method: str, path: str, limits: LimitSettings) -> BodyLimit | None:
    """The limit for a request, or None for paths that bound their own bodies."""
    if path.startswith(UNLIMITED_PREFIXES):
        return None
    if method == "POST":
        files = UPLOAD_FILES.get(path.rstrip("/"))
        if files:
            return BodyLimit(int(files * limits.max_upload_mb * 1_000_000) + MULTIPART_OVERHEAD, "файл")
        if _VOICE_UPLOAD.fullmatch(path):
            return BodyLimit(int(limits.max_voice_mb * 1_000_000) + MULTIPART_OVERHEAD, "записи голоса")
    return BodyLimit(limits.max_json_kb * 1024, "данные")


class BodyTooLarge(Exception):
    """Raised into the app from ``receive`` once the body passed its limit."""


def declared_length(value: str | None) -> int | None:
    """``Content-Length`` as a number; None when absent or not a number (the HTTP server refuses those)."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


class CountingReceive:
    """Wraps ``receive``: counts body bytes and raises :class:`BodyTooLarge` past the limit.

    Once over, it never calls the server's ``receive`` again, so the rest is not read.
    """

    def __init__(self, receive: Receive, limit: BodyLimit) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0
        self.exceeded = False

    async def __call__(self) -> Message:
        if self.exceeded:
            raise BodyTooLarge(self.limit.what)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_bytes:
                self.exceeded = True
                raise BodyTooLarge(self.limit.what)
        return message
