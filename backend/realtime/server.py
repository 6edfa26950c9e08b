"""The Socket.IO server: ``AsyncServer(async_mode="asgi")`` wrapped around the FastAPI app.

With Redis configured, rooms are shared by every server process through ``AsyncRedisManager`` and
the clip cache and rate limits live there too; without it (or when it is down at start-up) the server
still works, per process and uncached, and says so in ``/api/health``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import socketio

from ai_pipeline.errors import AvatarError
from backend.edge.peer import peer_address
from backend.realtime.live import LiveSession
from backend.realtime.events import ReadyEvent, to_wire
from backend.realtime.guarded import GuardedNamespace, authorized, refusal
from backend.realtime.job_watch import JobsNamespace
from backend.realtime.protocol import NAMESPACE, StartMessage, TextMessage
from backend.realtime.redis_link import redis_reachable
from backend.runtime import Busy, Runtime

__all__ = ["Busy", "ConversationNamespace", "create_sio", "origin_check"]

log = logging.getLogger(__name__)


class ConversationNamespace(GuardedNamespace):
    """Dispatches client events to the client's LiveSession; malformed input gets an error event."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(NAMESPACE)
        self.runtime = runtime
        self.sessions = runtime.live

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        if not authorized(environ, auth, self.runtime.settings.server.token):
            raise refusal()
        session = LiveSession(self.runtime, lambda event, data: self.emit(event, data, to=sid), sid)
        session.client = peer_address(environ, self.runtime.settings.server.trusted_proxies)
        self.sessions[sid] = session

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        session = self.sessions.pop(sid, None)
        if session is not None:
            await asyncio.shield(session.close())  # runs to the end even if this handler is cancelled

    async def within_limit(self, sid: str) -> bool:
        """A client may send at most ``realtime.events_per_10s`` events (audio chunks included)."""
        limiter = self.runtime.limiter
        if limiter is None or sid not in self.sessions:
            return True
        decision = await limiter.hit(f"events:{sid}", limit=self.runtime.settings.realtime.events_per_10s, window_s=10)
        if not decision.allowed:
            session = self.sessions[sid]
            if not session.flooding:  # one error per burst, not one per dropped message
                await self.send_error(sid, "rate_limited", "Слишком много сообщений: часть из них пропущена.",
                                  f"retry after {decision.retry_after_s:.1f} s")
            session.flooding = True
            return False
        self.sessions[sid].flooding = False
        return True

    def _session(self, sid: str, *, started: bool = True) -> LiveSession:
        session = self.sessions.get(sid)
        if session is None or session.closed:
            raise AvatarError("Соединение закрыто.", "not connected", code="not_connected")
        if started and session.stream is None:
            raise AvatarError("Сначала начните разговор (событие start).", "send start first", code="not_started")
        return session

    async def on_start(self, sid: str, data: Any = None) -> None:
        msg = StartMessage.model_validate(data or {})
        session = self._session(sid, started=False)
        ready = await session.start(msg)
        if not session.closed:
            await self.emit(*to_wire(ReadyEvent(**ready)), to=sid)

    async def on_audio(self, sid: str, data: Any = None) -> None:
        if not isinstance(data, bytes | bytearray):
            raise AvatarError("Аудио должно приходить двоичными данными.", "audio must be binary", code="bad_message")
        await self._session(sid).audio(bytes(data))

    async def on_audio_end(self, sid: str, data: Any = None) -> None:
        await self._session(sid).audio_end()

    async def on_text(self, sid: str, data: Any = None) -> None:
        msg = TextMessage.model_validate(data if isinstance(data, dict) else {"text": data})
        await self._session(sid).text(msg.text)

    async def on_stop(self, sid: str, data: Any = None) -> None:
        await self._session(sid).interrupt("stop")


def create_sio(runtime: Runtime) -> socketio.AsyncServer:
    """Rooms are shared through Redis when it answers now; otherwise they stay in this process."""
    settings = runtime.settings
    manager = socketio.AsyncRedisManager(settings.redis.url) if redis_reachable(settings.redis.url) else None
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager,
                               cors_allowed_origins=origin_check(settings.server.cors_origins),
                               max_http_buffer_size=settings.realtime.max_message_kb * 1024)
    sio.register_namespace(ConversationNamespace(runtime))
    sio.register_namespace(JobsNamespace(runtime))
    return sio


def origin_check(extra: list[str]) -> Callable[[str | None, dict], bool]:
    """Allow the page the server itself serves (any host/port it is reached at) plus ``extra`` origins."""
    allowed = set(extra)

    def check(origin: str | None, environ: dict) -> bool:
        if origin is None or origin in allowed:
            return True
        host = environ.get("HTTP_HOST", "")
        scheme = environ.get("wsgi.url_scheme", "http")  # X-Forwarded-Proto behind a proxy
        return bool(host) and origin in (f"{scheme}://{host}", f"{'https' if scheme == 'wss' else scheme}://{host}")

    return check
