"""The pure ASGI middleware at the server's edge: host, origin, token and body size, in that order.

Everything is decided from the request line and headers before the app runs; only the body-size
count continues while the app reads. A refused request is answered with the project's JSON error and
``Connection: close``, so the server stops reading a body nobody will use.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai_pipeline.settings import Settings
from backend.edge.auth import needs_token, set_cookie_header, split_token, token_ok
from backend.edge.hosts import HostPolicy, OriginPolicy
from backend.edge.limits import BodyLimit, BodyTooLarge, CountingReceive, body_limit, declared_length
from backend.errors import error_response
from backend.web import API_PREFIXES

SEEN = "avatar.edge"  # scope key: an inner copy of the middleware lets the outer one's checks stand


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message_ru: str,
                 detail: str) -> None:
    response = error_response(status, code, message_ru, detail)
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


class EdgeMiddleware:
    """Guards every HTTP request and WebSocket handshake in front of ``app``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = HostPolicy(settings.server.allowed_hosts, settings.server.host)
        self.origins = OriginPolicy(settings.server.cors_origins)
        self.token = settings.server.token
        self.limits = settings.limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get(SEEN):
            return await self.app(scope, receive, send)
        scope[SEEN] = True
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}  # first wins
        headers["cookie"] = "; ".join(v.decode("latin-1") for k, v in scope["headers"] if k == b"cookie")
        if not self.hosts.allows(headers.get("host")):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await refuse(scope, receive, send, 400, "bad_host",
                                "Сервер не отвечает на этот адрес. Откройте его по адресу 127.0.0.1 или добавьте "
                                "имя в AVATAR_SERVER__ALLOWED_HOSTS.", "Host not allowed (DNS rebinding guard).")
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        if not self.origins.allows(method, scope.get("scheme", "http"), headers.get("host"), headers.get("origin"),
                                   headers.get("sec-fetch-site")):
            return await refuse(scope, receive, send, 403, "foreign_origin",
                                "Запрос с другого сайта отклонён.", "Cross-site request refused.")
        if self.token:
            if method in ("GET", "HEAD") and not path.startswith(API_PREFIXES):
                given, rest = split_token(scope.get("query_string", b"").decode("latin-1"))
                if given is not None:
                    return await self._page_token(scope, receive, send, given, rest)
            if needs_token(path) and not token_ok(headers, self.token):
                return await refuse(scope, receive, send, 401, "unauthorized", "Нужен токен доступа.",
                                    "Missing or wrong token (Authorization: Bearer or the avatar_token cookie).")
        limit = body_limit(method, path, self.limits)
        if limit is None:
            return await self.app(scope, receive, send)
        declared = declared_length(headers.get("content-length"))
        if declared is not None and declared > limit.max_bytes:
            return await self._too_large(scope, receive, send, limit)
        await self._counted(scope, receive, send, limit)

    async def _page_token(self, scope: Scope, receive: Receive, send: Send, given: str, rest: str) -> None:
        """First visit with ``?token=``: keep it in an HttpOnly cookie, drop it from the address."""
        if not token_ok({"authorization": f"Bearer {given}"}, self.token or ""):
            return await refuse(scope, receive, send, 401, "unauthorized", "Неверный токен доступа в адресе страницы.",
                                "Wrong ?token= in the page address.")
        location = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("latin-1", "replace")),
                                (b"set-cookie", set_cookie_header(given, scope.get("scheme") == "https").encode()),
                                (b"cache-control", b"no-store"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: BodyLimit) -> None:
        await refuse(scope, receive, send, 413, "too_large", limit.message_ru(),
                     f"request body exceeds {limit.max_bytes} bytes")

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: BodyLimit) -> None:
        """Run the app with a counting ``receive``; past the limit its answer becomes a 413."""
        counting = CountingReceive(receive, limit)
        state = {"started": False, "replaced": False}

        async def guarded_send(message: Message) -> None:
            if state["replaced"]:
                return
            if message["type"] == "http.response.start" and counting.exceeded:
                state["replaced"] = True
                return await self._too_large(scope, receive, send, limit)
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, guarded_send)
        except Exception as exc:  # the app let the refusal (or what it turned it into) through
            if not counting.exceeded and not isinstance(exc, BodyTooLarge):
                raise
            if not state["started"] and not state["replaced"]:
                await self._too_large(scope, receive, send, limit)
