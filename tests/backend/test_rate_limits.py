"""Rate limits: the sliding windows (in process and in a real Redis), the client address they are
keyed by, and the REST limit on the real app with and without Redis."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from ai_pipeline.settings import LimitSettings, RedisSettings, ServerSettings, Settings
from backend.app import create_app
from backend.edge.peer import peer_address, scope_address
from backend.edge.rate import is_limited
from backend.realtime.ratelimit import LocalRateLimiter, RateDecision, RateLimiter
from tests.redis_server import redis_url  # noqa: F401

# --- LocalRateLimiter: the in-process sliding window ------------------------------------------------


def test_local_limit_and_retry_after() -> None:
    limiter = LocalRateLimiter()
    assert [limiter.hit_now("a", limit=3, window_s=60, now=t) for t in (0, 10, 20)] == [
        RateDecision(True, 2, 0.0), RateDecision(True, 1, 0.0), RateDecision(True, 0, 0.0)]
    # refused until the hit at 0 leaves the window, at 60
    assert limiter.hit_now("a", limit=3, window_s=60, now=30) == RateDecision(False, 0, 30.0)
    assert limiter.hit_now("b", limit=3, window_s=60, now=30).allowed  # keys do not share a window
    assert asyncio.run(limiter.hit("c", limit=1, window_s=60)) == RateDecision(True, 0, 0.0)  # the async face
    with pytest.raises(ValueError):
        limiter.hit_now("a", limit=0, window_s=60, now=0)


def test_local_refused_hits_are_not_counted_and_the_window_slides() -> None:
    limiter = LocalRateLimiter()
    for t in (0, 10, 20):
        assert limiter.hit_now("k", limit=3, window_s=60, now=t).allowed
    for t in range(21, 60):  # hammering while refused does not push the window out
        assert not limiter.hit_now("k", limit=3, window_s=60, now=t).allowed
    assert limiter.hit_now("k", limit=3, window_s=60, now=60) == RateDecision(True, 0, 0.0)  # the hit at 0 left
    assert limiter.hit_now("k", limit=3, window_s=60, now=61) == RateDecision(False, 0, 9.0)  # next out: 10, at 70
    assert limiter.hit_now("k", limit=3, window_s=60, now=70).allowed
    assert limiter.hit_now("k", limit=3, window_s=60, now=200) == RateDecision(True, 2, 0.0)  # all old hits gone


def test_local_forgets_clients_that_left() -> None:
    """A key per connection: keys whose window emptied are dropped as new ones come, long before max_keys."""
    limiter = LocalRateLimiter()
    for i in range(2000):  # 2000 connections, one every 0.1 s, each hitting once in a 10 s window
        limiter.hit_now(f"events:{i}", limit=5, window_s=10, now=i * 0.1)
    assert len(limiter) <= 100 + LocalRateLimiter.SWEEP_EVERY


def test_local_sweeps_keys_at_max_keys() -> None:
    limiter = LocalRateLimiter(max_keys=3)
    for key, t in (("old1", 0), ("old2", 5), ("live", 50)):
        limiter.hit_now(key, limit=1, window_s=60, now=t)
    limiter.hit_now("new", limit=1, window_s=60, now=70)  # the keys whose window emptied are dropped
    assert set(limiter._hits) == {"live", "new"}
    assert not limiter.hit_now("live", limit=1, window_s=60, now=71).allowed  # a live window is kept
    limiter.hit_now("newer", limit=1, window_s=60, now=72)
    limiter.hit_now("newest", limit=1, window_s=60, now=73)  # nothing stale: the oldest key goes
    assert len(limiter._hits) <= 3 and "live" not in limiter._hits and "newest" in limiter._hits


# --- RateLimiter in Redis: the same answers as the in-process one ----------------------------------


def test_redis_limiter_decides_like_the_local_one(redis_url: str) -> None:  # noqa: F811
    window, limit = 1.0, 3
    # (pause before, hits): 2 hits; half a window later 2 more (one refused); then the first two leave
    steps = ((0.0, 2), (0.5, 2), (0.6, 3))

    async def run() -> list[tuple[RateDecision, RateDecision]]:
        client = aioredis.Redis.from_url(redis_url)
        shared, local = RateLimiter(client, prefix=f"test:{uuid.uuid4().hex}:"), LocalRateLimiter()
        pairs = []
        try:
            for pause, hits in steps:
                await asyncio.sleep(pause)
                for _ in range(hits):
                    pairs.append((await shared.hit("k", limit=limit, window_s=window),
                                  await local.hit("k", limit=limit, window_s=window)))
        finally:
            await client.aclose()
        return pairs

    pairs = asyncio.run(run())
    assert [(r.allowed, r.remaining) for r, _ in pairs] == [(l.allowed, l.remaining) for _, l in pairs]
    assert [r.allowed for r, _ in pairs] == [True, True, True, False, True, True, False]
    for shared, local in pairs:
        assert shared.retry_after_s == pytest.approx(local.retry_after_s, abs=0.08)
    assert pairs[3][0].retry_after_s == pytest.approx(0.5, abs=0.1)  # the first hit leaves one window after it came


# --- the client address -------------------------------------------------------------------------------


def _environ(peer: str, forwarded_for: str | None = None) -> dict:
    environ = {"REMOTE_ADDR": "127.0.0.1", "asgi.scope": {"type": "websocket", "client": (peer, 50123)}}
    if forwarded_for is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return environ


def test_peer_address_is_the_direct_peer() -> None:
    assert peer_address(_environ("198.51.100.4"), []) == "198.51.100.4"  # not engine.io's 127.0.0.1
    assert peer_address({"REMOTE_ADDR": "192.0.2.9"}, []) == "192.0.2.9"  # no ASGI scope: the environ's own


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    assert peer_address(_environ("198.51.100.4", "203.0.113.7"), ["10.0.0.1"]) == "198.51.100.4"
    scope = {"type": "http", "client": ("198.51.100.4", 1), "headers": [(b"x-forwarded-for", b"203.0.113.7")]}
    assert scope_address(scope, []) == "198.51.100.4"


def test_forwarded_for_from_a_trusted_proxy_names_the_last_untrusted_hop() -> None:
    proxies = ["10.0.0.1", "10.0.0.2"]
    # the client may put anything first; the hop our proxies saw is the last one they did not add
    assert peer_address(_environ("10.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.2"), proxies) == "203.0.113.7"
    assert peer_address(_environ("10.0.0.1", "10.0.0.2"), proxies) == "10.0.0.1"  # only proxies: the peer
    assert peer_address(_environ("10.0.0.1"), proxies) == "10.0.0.1"
    scope = {"type": "http", "client": ("10.0.0.1", 1),  # repeated headers are one list
             "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"203.0.113.7, 10.0.0.2")]}
    assert scope_address(scope, proxies) == "203.0.113.7"


# --- the REST limit on the real app ---------------------------------------------------------------


def test_limited_calls_are_the_expensive_posts() -> None:
    for path in ("/api/render", "/api/avatars", "/api/transcribe", "/api/chat", "/api/voices", "/api/voices/",
                 "/api/voices/v1/samples", "/api/voices/v1/prepare"):
        assert is_limited("POST", path), path
    for method, path in (("GET", "/api/health"), ("GET", "/api/voices"), ("GET", "/api/jobs/1"),
                         ("POST", "/api/personas"), ("DELETE", "/api/voices/v1"), ("GET", "/media/x.mp4")):
        assert not is_limited(method, path), (method, path)


def _settings(data_dir: Path, redis: str | None, per_minute: int) -> Settings:
    # TestClient's peer is "testclient": trusting it lets X-Forwarded-For name other clients
    return Settings(data_dir=data_dir, redis=RedisSettings(url=redis),
                    limits=LimitSettings(requests_per_minute=per_minute),
                    server=ServerSettings(trusted_proxies=["testclient"]))


@pytest.mark.parametrize("with_redis", [False, True], ids=["in-process", "redis"])
def test_rest_limit_per_client(with_redis: bool, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = request.getfixturevalue("redis_url") if with_redis else None
    app = create_app(_settings(tmp_path, url, per_minute=3))
    with TestClient(app, base_url="http://127.0.0.1") as client:  # a loopback Host
        assert type(app.state.runtime.limiter) is (RateLimiter if with_redis else LocalRateLimiter)
        me = {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250}"}  # fresh in the shared Redis
        for _ in range(3):  # an empty chat is refused by validation, cheaply, but counts
            assert client.post("/api/chat", json={}, headers=me).status_code == 422
        refused = client.post("/api/chat", json={}, headers=me)
        assert refused.status_code == 429
        assert 55 <= int(refused.headers["Retry-After"]) <= 60
        error = refused.json()["error"]
        assert error["code"] == "rate_limited" and "Попробуйте снова" in error["message"]
        assert 55 < error["retry_after_s"] <= 60 and error["detail"]
        assert client.post("/api/transcribe", headers=me).status_code == 429  # one budget for every expensive call
        other = {"X-Forwarded-For": "203.0.113.7"}
        assert client.post("/api/chat", json={}, headers=other).status_code == 422  # another client is not limited
        for _ in range(5):  # cheap calls never are
            assert client.get("/api/health", headers=me).status_code == 200
            assert client.post("/api/personas", json={}, headers=me).status_code == 422


def test_no_limit_before_the_lifespan_or_while_redis_is_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(_settings(tmp_path, None, per_minute=1))
    client = TestClient(app, base_url="http://127.0.0.1",
                        raise_server_exceptions=False)  # no `with`: the lifespan (and the limiter) never start
    assert all(client.post("/api/chat", json={}).status_code != 429 for _ in range(3))
    app.state.runtime.limiter = RateLimiter(aioredis.Redis.from_url("redis://127.0.0.1:1/0"))  # nobody listens
    assert all(client.post("/api/chat", json={}).status_code != 429 for _ in range(3))
    assert "rate limit not checked" in caplog.text  # the limit is skipped, the request goes on
