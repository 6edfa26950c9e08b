"""Per-client rate limits on the expensive REST calls (renders, uploads, transcription, chat).

Each client address (see :mod:`backend.edge.peer`) gets ``limits.requests_per_minute`` of them in
any 60 s, counted by ``Runtime.limiter``: in Redis when it is up (shared by every server process),
in this process otherwise. Cheap calls (health, lists, media) are never counted. Until the lifespan
has made a limiter, and while Redis fails to answer, nothing is refused.
"""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING

import redis
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.edge.peer import scope_address
from backend.realtime.protocol import error_payload
from backend.realtime.ratelimit import RateDecision

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger(__name__)
WINDOW_S = 60.0
LIMITED_POSTS = re.compile(r"/api/(render|avatars|transcribe|chat|voices(/[^/]+/(samples|prepare))?)/?")


def is_limited(method: str, path: str) -> bool:
    """Whether a request is one of the expensive calls that count against the client's budget."""
    return method == "POST" and LIMITED_POSTS.fullmatch(path) is not None


def message_ru(retry_after_s: int) -> str:
    return f"Слишком много запросов подряд. Попробуйте снова через {retry_after_s} с."


class RateLimitMiddleware:
    """Answers 429 with ``Retry-After`` once a client has used up its expensive calls for the minute."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_limited(scope["method"], scope["path"]):
            decision = await self._hit(scope)
            if decision is not None and not decision.allowed:
                return await self._refuse(scope, receive, send, decision)
        await self.app(scope, receive, send)

    async def _hit(self, scope: Scope) -> RateDecision | None:
        limiter, settings = self.runtime.limiter, self.runtime.settings
        if limiter is None:
            return None
        client = scope_address(scope, settings.server.trusted_proxies)
        try:
            return await limiter.hit(f"rest:peer:{client}", limit=settings.limits.requests_per_minute,
                                     window_s=WINDOW_S)
        except (redis.RedisError, OSError) as exc:
            log.warning("rate limit not checked (Redis: %s)", exc)
            return None

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, decision: RateDecision) -> None:
        seconds = max(1, math.ceil(decision.retry_after_s))
        per_minute = self.runtime.settings.limits.requests_per_minute
        error = error_payload("rate_limited", message_ru(seconds),
                              f"more than {per_minute} expensive requests in {WINDOW_S:.0f} s from this address")
        response = JSONResponse({"error": {**error, "retry_after_s": round(decision.retry_after_s, 1)}},
                                status_code=429, headers={"Retry-After": str(seconds)})
        await response(scope, receive, send)
