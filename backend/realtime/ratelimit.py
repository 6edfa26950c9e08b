"""Sliding-window rate limits: in Redis, shared by every server process, or in this process.

Each limited key is a sorted set of the times (microseconds of Redis's own clock) of the hits
allowed in the last ``window_s``. One Lua script drops the hits that left the window, counts the
rest and records the new hit only if it is allowed, so concurrent clients cannot overshoot and
refused attempts do not push the window further out. Exact, at the cost of ``limit`` entries a key.

Without Redis, :class:`LocalRateLimiter` keeps the same windows in memory (one process only), with
the same answers, and forgets keys whose window has emptied.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass

import redis.asyncio as aioredis

_HIT_LUA = """
local key, limit, window, token = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - window))
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, string.format('%.0f', now), token)
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  return {1, limit - count - 1, 0}
end
-- Refused: free again when enough of the oldest hits have left the window.
local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}
"""


@dataclass(frozen=True)
class RateDecision:
    """Whether a hit is allowed, how many more fit in the window, and when to try again if not."""

    allowed: bool
    remaining: int
    retry_after_s: float


class RateLimiter:
    """At most ``limit`` hits per key in any ``window_s`` (a sliding window), counted in Redis."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "avatar:rate:") -> None:
        self.prefix = prefix
        self._hit = redis.register_script(_HIT_LUA)

    async def hit(self, key: str, *, limit: int, window_s: float) -> RateDecision:
        """Count one hit on ``key`` if it fits; a refused hit is not counted."""
        if limit < 1 or window_s <= 0:
            raise ValueError(f"limit must be >= 1 and window_s > 0, got {limit} and {window_s}")
        window_us = max(1, round(window_s * 1_000_000))
        allowed, remaining, retry_us = await self._hit(
            keys=[f"{self.prefix}{key}"], args=[int(limit), window_us, os.urandom(8).hex()])
        return RateDecision(bool(allowed), int(remaining), max(0.0, int(retry_us) / 1_000_000))


class LocalRateLimiter:
    """The same sliding windows as :class:`RateLimiter`, kept in this process (no Redis).

    Keys whose window has emptied are forgotten every ``SWEEP_EVERY`` new keys, so clients that
    came and went (a key per connection) do not pile up; ``max_keys`` caps the table regardless."""

    SWEEP_EVERY = 256

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._hits: dict[str, tuple[deque[float], float]] = {}  # key -> (hit times, window)
        self._new_keys = 0

    def __len__(self) -> int:
        return len(self._hits)

    async def hit(self, key: str, *, limit: int, window_s: float) -> RateDecision:
        return self.hit_now(key, limit=limit, window_s=window_s)

    def hit_now(self, key: str, *, limit: int, window_s: float, now: float | None = None) -> RateDecision:
        """Count one hit on ``key`` if it fits (synchronous: the event loop never waits here)."""
        if limit < 1 or window_s <= 0:
            raise ValueError(f"limit must be >= 1 and window_s > 0, got {limit} and {window_s}")
        now = time.monotonic() if now is None else now
        entry = self._hits.get(key)
        if entry is None:
            self._new_keys += 1
            if len(self._hits) >= self.max_keys or self._new_keys % self.SWEEP_EVERY == 0:
                self._sweep(now)
            entry = self._hits[key] = (deque(), window_s)
        hits = entry[0]
        if entry[1] != window_s:
            self._hits[key] = (hits, window_s)
        while hits and hits[0] <= now - window_s:
            hits.popleft()
        if len(hits) < limit:
            hits.append(now)
            return RateDecision(True, limit - len(hits), 0.0)
        return RateDecision(False, 0, max(0.0, hits[len(hits) - limit] + window_s - now))

    def _sweep(self, now: float) -> None:
        """Drop keys with no hit inside their window (and the oldest keys if that is not enough)."""
        for key in [k for k, (hits, window) in self._hits.items() if not hits or hits[-1] <= now - window]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:
            del self._hits[next(iter(self._hits))]
