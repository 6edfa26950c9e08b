"""Database errors that leave the API as JSON through the ``AvatarError`` handler."""

from __future__ import annotations

from ai_pipeline.errors import AvatarError


class NotFound(AvatarError):
    """A persona, session or fact that does not exist (any more)."""

    code = "not_found"
    http_status = 404
