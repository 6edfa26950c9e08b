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

:func:`pack_audio_chunk` / :func:`unpack_audio_chunk` turn a TTS :class:`AudioChunk` into compact
bytes for the cache: ``AVC1``, a 4-byte header length, a JSON header (rate, text, index,
phonemes) and 16-bit PCM.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import struct
from pathlib import PurePath
from typing import Any

import numpy as np
import redis.asyncio as aioredis

from ai_pipeline.chunks import AudioChunk, PhonemeMark

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


# --- AudioChunk <-> bytes ------------------------------------------------------------------------

_MAGIC = b"AVC1"
_HEADER_LEN = struct.Struct("<I")


def pack_audio_chunk(chunk: AudioChunk) -> bytes:
    """Compact bytes for an AudioChunk: samples as 16-bit PCM, phonemes exactly."""
    pcm = (np.clip(np.nan_to_num(np.asarray(chunk.samples, dtype=np.float32)), -1.0, 1.0) * 32767.0)
    pcm = pcm.round().astype("<i2")
    header = json.dumps({"rate": chunk.sample_rate, "text": chunk.text, "index": chunk.index, "samples": len(pcm),
                         "phonemes": [[p.phoneme, p.start, p.end] for p in chunk.phonemes]},
                        ensure_ascii=False, separators=(",", ":")).encode()
    return _MAGIC + _HEADER_LEN.pack(len(header)) + header + pcm.tobytes()


def unpack_audio_chunk(data: bytes) -> AudioChunk:
    """The AudioChunk packed by :func:`pack_audio_chunk`; ValueError if ``data`` is not one."""
    start = len(_MAGIC) + _HEADER_LEN.size
    if len(data) < start or data[: len(_MAGIC)] != _MAGIC:
        raise ValueError("not a packed audio chunk")
    (header_len,) = _HEADER_LEN.unpack_from(data, len(_MAGIC))
    try:
        header = json.loads(data[start : start + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"damaged audio chunk header: {exc}") from exc
    pcm = data[start + header_len :]
    if len(pcm) != 2 * header["samples"]:
        raise ValueError(f"audio chunk holds {len(pcm)} bytes of PCM, expected {2 * header['samples']}")
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / np.float32(32767.0)
    phonemes = tuple(PhonemeMark(str(p), float(s), float(e)) for p, s, e in header["phonemes"])
    return AudioChunk(samples, int(header["rate"]), header["text"], phonemes, int(header["index"]))
