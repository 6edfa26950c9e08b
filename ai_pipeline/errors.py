"""Typed errors shared by every stage.

Each error carries a stable machine code (used by the API and the CLI exit status) and a message in
Russian for the user plus English for logs. ``retryable`` tells a caller whether trying again (or
falling back to a lighter engine) can help.
"""

from __future__ import annotations


class AvatarError(Exception):
    """Base class: ``code`` is stable, ``message_ru`` is shown to users, ``message_en`` is logged."""

    code = "internal_error"
    http_status = 500
    retryable = False

    def __init__(self, message_ru: str, message_en: str = "", *, code: str | None = None) -> None:
        super().__init__(message_en or message_ru)
        self.message_ru = message_ru
        self.message_en = message_en or message_ru
        if code:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message_ru, "detail": self.message_en}

    def __str__(self) -> str:
        return f"{self.message_ru} ({self.message_en})" if self.message_en != self.message_ru else self.message_ru


class InputError(AvatarError):
    """The caller sent something we cannot use (bad image, empty text, unreadable audio...)."""

    code = "bad_input"
    http_status = 422


class InputTooLarge(InputError):
    code = "too_large"
    http_status = 413


class FaceNotFound(InputError):
    code = "no_face"


class EngineUnavailable(AvatarError):
    """An engine could not be loaded or run; a lighter engine may take over."""

    code = "engine_unavailable"
    http_status = 503
    retryable = True


class EngineFailed(AvatarError):
    code = "engine_failed"
    http_status = 500
    retryable = True


class GpuBudgetExceeded(EngineUnavailable):
    """A GPU engine does not fit into the configured VRAM budget, even after unloading idle engines."""

    code = "gpu_budget_exceeded"
