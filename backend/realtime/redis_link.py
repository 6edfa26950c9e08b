"""Connecting to Redis at start-up; without it the server runs uncached and says so."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis
import redis.asyncio as aioredis

from backend.realtime.cache import ClipCache
from backend.realtime.ratelimit import LocalRateLimiter, RateLimiter

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger(__name__)


def redis_reachable(url: str | None, timeout_s: float = 1.0) -> bool:
    """A blocking PING (used once, before the Socket.IO manager is chosen)."""
    if not url:
        return False
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


async def connect_redis(runtime: Runtime) -> None:
    """Fill in the clip cache and the rate limiter; without Redis: no cache, limits kept in this process."""
    settings = runtime.settings.redis
    runtime.limiter = LocalRateLimiter()
    if not settings.url:
        runtime.notices.append("Redis отключён: без кэша фраз и общих комнат, ограничения частоты запросов — в этом процессе.")
        return
    client = aioredis.Redis.from_url(settings.url, socket_connect_timeout=1.0)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        await client.aclose()
        log.warning("Redis at %s unreachable (%s): running without clip cache; rate limits kept in this process",
                    settings.url, exc)
        runtime.notices.append(f"Redis по адресу {settings.url} не отвечает: работаем без кэша фраз, ограничения "
                               "частоты запросов — в этом процессе.")
        return
    runtime.redis = client
    runtime.cache = ClipCache(client, max_bytes=settings.cache_mb * 1024 * 1024, ttl_s=settings.cache_ttl_s)
    runtime.limiter = RateLimiter(client)
    if runtime.settings.realtime.executor == "queue":
        from arq import create_pool
        from arq.connections import RedisSettings as ArqRedis

        runtime.queue = await create_pool(ArqRedis.from_dsn(settings.url))
