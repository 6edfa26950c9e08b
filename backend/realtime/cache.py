"""A size-capped clip cache in Redis, shared by every server process.

Entries are bytes under ``{prefix}{key}`` with a sliding TTL: an entry not read or written for
``ttl_s`` is gone. Besides Redis's own expiry, three bookkeeping keys bound the total size:

* ``{prefix}~lru``: a sorted set of keys by a use counter (least recently used first),
* ``{prefix}~meta``: a hash of key -> ``"<size> <last use, ms of Redis's clock>"``,
* ``{prefix}~stats``: a hash with the byte total, hits, misses and the use counter.

Every operation is one Lua script, so the byte total stays exact with any number of clients.
Writing evicts expired entries, then the least recently used ones, until the new entry fits;
an entry larger than the whole cap is not stored. The scripts build entry keys from the prefix,
so this needs a single Redis server, not Redis Cluster.

Cached TTS clips are stored as packed AudioChunks (:func:`backend.realtime.commands.pack_audio_chunk`,
the same bytes a render worker receives).
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from pathlib import PurePath
from typing import Any

import redis.asyncio as aioredis

_KEY = re.compile(r"[\w.:-]{1,200}")

_LUA_PRELUDE = """
local prefix, lru, meta, stats = ARGV[1], KEYS[1], KEYS[2], KEYS[3]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function drop(member)
  redis.call('DEL', prefix .. member)
  redis.call('ZREM', lru, member)
  local info = redis.call('HGET', meta, member)
  if info then
    redis.call('HDEL', meta, member)
    redis.call('HINCRBY', stats, 'bytes', -tonumber(string.match(info, '^(%d+)')))
  end
end
local function touch(member, size, now)
  if not redis.call('HGET', meta, member) then
    redis.call('HINCRBY', stats, 'bytes', size)
  end
  redis.call('ZADD', lru, redis.call('HINCRBY', stats, 'seq', 1), member)
  redis.call('HSET', meta, member, string.format('%d %.0f', size, now))
end
-- Uses come in counter order and the TTL slides with each use, so expired entries lead the LRU.
local function purge_expired(now, ttl)
  while true do
    local head = redis.call('ZRANGE', lru, 0, 0)
    if #head == 0 then return end
    local info = redis.call('HGET', meta, head[1])
    local last = info and tonumber(string.match(info, ' (%d+)$')) or 0
    if last + ttl > now then return end
    drop(head[1])
  end
end
"""

_GET_LUA = _LUA_PRELUDE + """
local member, ttl = ARGV[2], tonumber(ARGV[3])
local data = redis.call('GET', prefix .. member)
if not data then
  redis.call('HINCRBY', stats, 'misses', 1)
  if redis.call('ZSCORE', lru, member) then drop(member) end
  return false
end
redis.call('PEXPIRE', prefix .. member, ttl)
touch(member, #data, now_ms())
redis.call('HINCRBY', stats, 'hits', 1)
return data
"""

_PUT_LUA = _LUA_PRELUDE + """
local member, data, ttl, cap = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()
purge_expired(now, ttl)
if redis.call('ZSCORE', lru, member) or redis.call('HGET', meta, member) then drop(member) end
if #data > cap then return 0 end
while tonumber(redis.call('HGET', stats, 'bytes') or '0') + #data > cap do
  local head = redis.call('ZRANGE', lru, 0, 0)
  if #head == 0 then break end
  drop(head[1])
end
redis.call('SET', prefix .. member, data, 'PX', ttl)
touch(member, #data, now)
return 1
"""

_STATS_LUA = _LUA_PRELUDE + """
purge_expired(now_ms(), tonumber(ARGV[2]))
local s = redis.call('HMGET', stats, 'bytes', 'hits', 'misses')
return {redis.call('ZCARD', lru), tonumber(s[1] or '0'), tonumber(s[2] or '0'), tonumber(s[3] or '0')}
"""


class ClipCache:
    """Bytes by key in Redis, at most ``max_bytes`` of payload in all, each kept ``ttl_s`` after its last use.

    ``redis`` must return bytes (``decode_responses=False``, the default).
    """

    def __init__(self, redis: aioredis.Redis, *, max_bytes: int, ttl_s: float, prefix: str = "avatar:clip:") -> None:
        if max_bytes <= 0 or ttl_s <= 0:
            raise ValueError(f"max_bytes and ttl_s must be positive, got {max_bytes} and {ttl_s}")
        if redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("ClipCache needs a Redis client with decode_responses=False (it stores bytes)")
        self.max_bytes = int(max_bytes)
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.prefix = prefix
        self._keys = [f"{prefix}~lru", f"{prefix}~meta", f"{prefix}~stats"]
        self._get = redis.register_script(_GET_LUA)
        self._put = redis.register_script(_PUT_LUA)
        self._stats = redis.register_script(_STATS_LUA)

    @staticmethod
    def key(**parts: Any) -> str:
        """A cache key for ``parts`` (e.g. voice, engine settings, text): sha256 of canonical JSON.

        Dict order does not matter; pydantic models, paths, enums and sets are allowed too.
        """
        if not parts:
            raise ValueError("a cache key needs at least one part")
        canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                               allow_nan=False, default=_jsonable)
        return hashlib.sha256(canonical.encode()).hexdigest()

    async def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None; a hit counts as a use (recency and TTL)."""
        return await self._get(keys=self._keys, args=[self.prefix, _checked(key), self.ttl_ms])

    async def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key``, evicting least recently used entries to stay under the cap.

        Returns False (and stores nothing) when ``data`` alone is larger than the cap.
        """
        stored = await self._put(keys=self._keys, args=[self.prefix, _checked(key), bytes(data),
                                                        self.ttl_ms, self.max_bytes])
        return bool(stored)

    async def stats(self) -> dict[str, int]:
        """``entries``, ``bytes`` (payload), ``hits`` and ``misses``, shared by all clients of the prefix."""
        entries, size, hits, misses = await self._stats(keys=self._keys, args=[self.prefix, self.ttl_ms])
        return {"entries": int(entries), "bytes": int(size), "hits": int(hits), "misses": int(misses),
                "max_bytes": self.max_bytes}


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"bad cache key {key!r}: use ClipCache.key(...)")
    return key


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (PurePath, enum.Enum)):
        return str(value.value if isinstance(value, enum.Enum) else value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot use {type(value).__name__} in a cache key")
