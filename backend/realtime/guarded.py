"""What every Socket.IO namespace of the server does with what a client sends, before any handler.

:class:`GuardedNamespace` answers an unknown event, extra arguments, a flood or a bad payload with an
``error`` event of the namespace's own kind (``ERROR``), and never lets a handler's exception reach
python-socketio. :func:`authorized` is the token check of a connection; :func:`refusal` the typed
refusal a client's ``connect_error`` receives.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, ClassVar

import socketio
from pydantic import ValidationError

from ai_pipeline.errors import AvatarError
from backend.edge import token_ok
from backend.realtime.events import ConnectRefused, ErrorEvent, to_wire

log = logging.getLogger(__name__)


def authorized(environ: dict, auth: Any, token: str | None) -> bool:
    """No token set, or the client carries it (``auth.token``, the bearer header or the cookie)."""
    if not token:
        return True
    given = auth.get("token") if isinstance(auth, dict) else None
    if isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode()):
        return True
    return token_ok(environ, token)


def refusal() -> socketio.exceptions.ConnectionRefusedError:
    """The refusal of a connection without the token: ``(message, data)``, so the client's
    ``connect_error`` gets both (a lone dict would arrive as its ``str()``)."""
    refused = ConnectRefused(code="unauthorized", message="Нужен токен.")
    return socketio.exceptions.ConnectionRefusedError(refused.message, refused.model_dump(mode="json"))


class GuardedNamespace(socketio.AsyncNamespace):
    """Every client event goes through :meth:`trigger_event` (see the module docstring)."""

    ERROR: ClassVar[type[ErrorEvent]] = ErrorEvent  # the namespace's error event
    PAYLOAD_REQUIRED: ClassVar[bool] = False  # true: every event carries exactly one payload (else at most one)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0] if args else ""
        if not hasattr(self, f"on_{event}"):
            await self.send_error(sid, "unknown_event", f"Неизвестное событие «{event}».")
            return None
        payloads = len(args) - 1
        if payloads > 1 or (self.PAYLOAD_REQUIRED and payloads != 1):
            await self.send_error(sid, "bad_message", "Неверный формат сообщения: ожидается один аргумент.",
                             f"{event}: {payloads} arguments")
            return None
        if not await self.within_limit(sid):
            return None
        try:
            return await super().trigger_event(event, *args)
        except ValidationError as exc:
            await self.send_error(sid, "bad_message", "Неверный формат сообщения.", str(exc.errors()))
        except AvatarError as exc:
            await self.emit(*to_wire(self.ERROR.of(exc)), to=sid)
        except Exception as exc:  # never let one client's bad input crash the server
            log.exception("%s event %s failed", self.namespace, event)
            await self.send_error(sid, "internal_error", "Внутренняя ошибка сервера.", repr(exc))
        return None

    async def send_error(self, sid: str, code: str, message: str, detail: str = "", **fields: Any) -> None:
        """Send the client an ``error`` of this namespace."""
        event = self.ERROR(code=code, message=message, detail=detail[:300] or message, **fields)
        await self.emit(*to_wire(event), to=sid)

    async def within_limit(self, sid: str) -> bool:
        """Whether this event of ``sid`` is within its rate limit (answering it when not)."""
        return True
