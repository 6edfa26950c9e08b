"""The clip cache and the rate limiter against a real redis-server (tests/redis_server.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
import redis.asyncio as aioredis

from ai_pipeline.chunks import AudioChunk, PhonemeMark
from backend.realtime.cache import ClipCache
from backend.realtime.commands import pack_audio_chunk, unpack_audio_chunk
from backend.realtime.ratelimit import RateLimiter
from tests.redis_server import redis_url  # noqa: F401


def with_clients(url: str, test: Callable[..., Awaitable[Any]], clients: int = 1) -> Any:
    """Run ``test(prefix, *clients)`` on fresh connections; each test gets its own key prefix."""

    async def main() -> Any:
        connections = [aioredis.Redis.from_url(url) for _ in range(clients)]
        try:
            return await test(f"test:{uuid.uuid4().hex}:", *connections)
        finally:
            for connection in connections:
                await connection.aclose()

    return asyncio.run(main())


# --- cache ---------------------------------------------------------------------------------------


def test_key_is_canonical() -> None:
    settings = {"voice": "msu_ru", "rate": 1.0, "nested": {"b": 2, "a": [1, 2]}}
    first = ClipCache.key(avatar=3, voice_settings=settings, text="Привет!")
    reordered = {"nested": {"a": [1, 2], "b": 2}, "rate": 1.0, "voice": "msu_ru"}
    assert ClipCache.key(text="Привет!", voice_settings=reordered, avatar=3) == first
    assert ClipCache.key(avatar=3, voice_settings=settings, text="Привет") != first
    assert len(first) == 64 and int(first, 16) >= 0
    with pytest.raises(TypeError):
        ClipCache.key(text=object())


def test_miss_then_hit_and_stats(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, client: aioredis.Redis) -> None:
        cache = ClipCache(client, max_bytes=10_000, ttl_s=60, prefix=prefix)
        key = cache.key(voice="festival", text="Добрый день")
        assert await cache.get(key) is None
        assert await cache.put(key, b"\x00\xffclip")
        assert await cache.get(key) == b"\x00\xffclip"
        assert await cache.stats() == {"entries": 1, "bytes": 6, "hits": 1, "misses": 1, "max_bytes": 10_000}
        assert await cache.put(key, b"longer clip")  # replacing counts the new size only
        assert (await cache.stats())["bytes"] == 11

    with_clients(redis_url, test)


def test_entries_expire_after_ttl_without_use(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, client: aioredis.Redis) -> None:
        cache = ClipCache(client, max_bytes=10_000, ttl_s=0.8, prefix=prefix)
        kept, idle = cache.key(text="used"), cache.key(text="idle")
        await cache.put(kept, b"k" * 10)
        await cache.put(idle, b"i" * 20)
        await asyncio.sleep(0.5)
        assert await cache.get(kept) is not None  # a use restarts its TTL
        await asyncio.sleep(0.5)
        assert await cache.get(idle) is None
        assert await cache.get(kept) == b"k" * 10
        assert await cache.stats() == {"entries": 1, "bytes": 10, "hits": 2, "misses": 1, "max_bytes": 10_000}
        await asyncio.sleep(0.9)
        assert (await cache.stats())["entries"] == 0 and (await cache.stats())["bytes"] == 0
        assert await client.keys(f"{prefix}[0-9a-f]*") == []

    with_clients(redis_url, test)


def test_size_cap_evicts_least_recently_used(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, client: aioredis.Redis) -> None:
        cache = ClipCache(client, max_bytes=300, ttl_s=60, prefix=prefix)
        a, b, c, d = (cache.key(text=t) for t in "abcd")
        for key in (a, b, c):
            assert await cache.put(key, b"x" * 100)
        assert await cache.get(a) is not None  # now b is the least recently used
        assert await cache.put(d, b"y" * 100)
        assert await cache.get(b) is None
        assert await cache.put(b, b"z" * 150)  # needs two slots: c then a go (a was read before d was put)
        assert [await cache.get(k) is not None for k in (a, b, c, d)] == [False, True, False, True]
        assert (await cache.stats())["bytes"] == 250

    with_clients(redis_url, test)


def test_oversize_entries_are_refused(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, client: aioredis.Redis) -> None:
        cache = ClipCache(client, max_bytes=300, ttl_s=60, prefix=prefix)
        small, big = cache.key(text="small"), cache.key(text="big")
        await cache.put(small, b"s" * 200)
        assert not await cache.put(big, b"b" * 301)
        assert await cache.get(big) is None
        assert await cache.get(small) == b"s" * 200  # nothing was evicted for it
        assert await cache.put(big, b"b" * 300)  # exactly the cap fits, after evicting the rest
        assert (await cache.stats())["entries"] == 1

    with_clients(redis_url, test)


def test_two_clients_share_the_cache(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, first: aioredis.Redis, second: aioredis.Redis) -> None:
        one = ClipCache(first, max_bytes=250, ttl_s=60, prefix=prefix)
        two = ClipCache(second, max_bytes=250, ttl_s=60, prefix=prefix)
        key = one.key(text="общий")
        await one.put(key, b"shared")
        assert await two.get(key) == b"shared"
        await asyncio.gather(*(two.put(two.key(n=i), b"." * 50) for i in range(10)))
        stats = await one.stats()
        assert stats == await two.stats()
        assert stats["bytes"] <= 250 and stats["entries"] == stats["bytes"] // 50

    with_clients(redis_url, test, clients=2)


def test_bad_uses_are_refused(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, client: aioredis.Redis) -> None:
        with pytest.raises(ValueError):
            ClipCache(aioredis.Redis.from_url(redis_url, decode_responses=True), max_bytes=1, ttl_s=1)
        cache = ClipCache(client, max_bytes=100, ttl_s=1, prefix=prefix)
        with pytest.raises(ValueError):
            await cache.get("~lru")

    with_clients(redis_url, test)


def test_audio_chunk_round_trip() -> None:
    rng = np.random.default_rng(0)
    samples = np.concatenate([rng.uniform(-1, 1, 16_000), [1.0, -1.0, 0.0]]).astype(np.float32)
    phonemes = (PhonemeMark("zz", 0.0, 0.1 + 0.2), PhonemeMark("dd", 0.30000000000000004, 0.41),
                PhonemeMark("ra", 1 / 3, 0.9))
    chunk = AudioChunk(samples, 16_000, "Здравствуйте, мир!", phonemes, index=7, emotion="joy", emotion_confidence=0.75)

    data = pack_audio_chunk(chunk)
    back = unpack_audio_chunk(data)

    assert len(data) < 2 * len(samples) + 300
    assert (back.sample_rate, back.text, back.index, back.phonemes) == (16_000, chunk.text, 7, phonemes)
    assert (back.emotion, back.emotion_confidence) == ("joy", 0.75)
    assert back.samples.dtype == np.float32 and back.samples.shape == samples.shape
    assert np.max(np.abs(back.samples - samples)) <= 1 / 32767
    for damaged in (data[:-1], b"XXXX" + data[4:], b""):
        with pytest.raises(ValueError):
            unpack_audio_chunk(damaged)


def test_cached_audio_chunk(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, client: aioredis.Redis) -> None:
        cache = ClipCache(client, max_bytes=1 << 20, ttl_s=60, prefix=prefix)
        chunk = AudioChunk(np.linspace(-0.5, 0.5, 8000, dtype=np.float32), 16_000, "Да.",
                           (PhonemeMark("d", 0.05, 0.12), PhonemeMark("aa", 0.12, 0.4)))
        key = cache.key(voice={"engine": "festival"}, text=chunk.text)
        await cache.put(key, pack_audio_chunk(chunk))
        back = unpack_audio_chunk(await cache.get(key))
        assert back.phonemes == chunk.phonemes
        np.testing.assert_allclose(back.samples, chunk.samples, atol=1 / 32767)

    with_clients(redis_url, test)


# --- rate limiter --------------------------------------------------------------------------------


def test_limit_then_refuse_then_recover(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, client: aioredis.Redis) -> None:
        limiter = RateLimiter(client, prefix)
        started = time.monotonic()
        decisions = [await limiter.hit("user:1", limit=3, window_s=1.0)]
        await asyncio.sleep(0.4)
        decisions += [await limiter.hit("user:1", limit=3, window_s=1.0) for _ in range(2)]
        assert [(d.allowed, d.remaining) for d in decisions] == [(True, 2), (True, 1), (True, 0)]
        refused = await limiter.hit("user:1", limit=3, window_s=1.0)
        assert not refused.allowed and refused.remaining == 0
        # free again when the first hit leaves the window, not a whole window from now
        assert 0.3 < refused.retry_after_s <= 1.0 - (time.monotonic() - started) + 0.01
        assert (await limiter.hit("user:2", limit=3, window_s=1.0)).allowed  # other keys are separate

        await asyncio.sleep(refused.retry_after_s + 0.05)
        again = await limiter.hit("user:1", limit=3, window_s=1.0)
        assert again.allowed and again.remaining == 0  # the two later hits are still inside the window
        assert not (await limiter.hit("user:1", limit=3, window_s=1.0)).allowed

    with_clients(redis_url, test)


def test_refused_hits_do_not_extend_the_window(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, client: aioredis.Redis) -> None:
        limiter = RateLimiter(client, prefix)
        assert (await limiter.hit("k", limit=1, window_s=0.5)).allowed
        for _ in range(5):
            await asyncio.sleep(0.05)
            assert not (await limiter.hit("k", limit=1, window_s=0.5)).allowed
        await asyncio.sleep(0.3)
        assert (await limiter.hit("k", limit=1, window_s=0.5)).allowed

    with_clients(redis_url, test)


def test_limits_are_shared_across_clients(redis_url: str) -> None:  # noqa: F811
    async def test(prefix: str, first: aioredis.Redis, second: aioredis.Redis) -> None:
        one, two = RateLimiter(first, prefix), RateLimiter(second, prefix)
        results = await asyncio.gather(*(limiter.hit("ip:127.0.0.1", limit=10, window_s=30)
                                         for limiter in (one, two) * 8))
        assert sum(d.allowed for d in results) == 10
        assert sorted(d.remaining for d in results if d.allowed) == list(range(10))
        assert all(d.retry_after_s > 29 for d in results if not d.allowed)
        with pytest.raises(ValueError):
            await one.hit("x", limit=0, window_s=1)

    with_clients(redis_url, test, clients=2)
