"""Scale-out: avatar video made by two arq render workers on loopback, emitted straight to the rooms."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ai_pipeline.llm.llama_cpp import LlamaCppSettings
from ai_pipeline.settings import RealtimeSettings, RedisSettings, Settings
from backend.background_server import serving
from tests.backend.test_realtime import NS, Client
from tests.redis_server import redis_url  # noqa: F401 - the fixture
from tests.support import decode_mp4

ARQ = str(Path(sys.executable).with_name("arq"))


@pytest.fixture(scope="module")
def queued_server(tmp_path_factory, redis_url):  # noqa: F811
    data = tmp_path_factory.mktemp("queued")
    env = {**os.environ, "AVATAR_REDIS__URL": redis_url, "AVATAR_DATA_DIR": str(data)}
    workers = [subprocess.Popen([ARQ, "backend.realtime.worker.WorkerSettings"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    settings = Settings(data_dir=data, redis=RedisSettings(url=redis_url), llm=LlamaCppSettings(max_tokens=24),
                        realtime=RealtimeSettings(executor="queue"))
    try:
        with serving(settings) as url:
            yield url, workers
    finally:
        for w in workers:
            w.terminate()
            w.wait(timeout=30)


def test_two_workers_render_concurrent_turns(queued_server):
    url, workers = queued_server

    async def one(question: str):
        c = await Client().connect(url)
        await c.sio.emit("start", {}, namespace=NS)
        await c.wait_for("ready")
        await c.wait_for("init", timeout=90)  # sent by a worker, not by the server
        await c.sio.emit("text", {"text": question}, namespace=NS)
        end = await c.wait_for("turn_end", timeout=180)
        await asyncio.sleep(0.3)
        await c.sio.disconnect()
        return c, end

    async def go():
        return await asyncio.gather(one("Привет! Как дела?"), one("Что ты любишь?"))

    for c, end in asyncio.run(go()):
        assert end["reason"] == "done"
        assert any(d["kind"] == "speech" for d in c.of("segment"))
        assert c.of("timings") and c.of("timings")[0]["first_segment_s"] > 0
        clip = decode_mp4(c.video())
        assert len(clip.frames) > 25 and clip.audio_duration > 0.5
    assert all(w.poll() is None for w in workers), "workers are still running"


def _settings_applied(url: str, change: dict, timeout: float = 120) -> dict:
    """PUT a settings change and wait until the server has it live (``reloading`` empty again)."""
    r = httpx.put(f"{url}/api/settings", json=change, timeout=30)
    assert r.status_code == 200, r.text
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = httpx.get(f"{url}/api/settings", timeout=30).json()
        if not view["reloading"]:
            return view
        time.sleep(0.2)
    raise AssertionError(f"the switch did not finish: {view}")


def test_a_quality_switch_reaches_the_render_workers(queued_server):
    """``speed`` chosen in the web app: the server rebuilds its head and publishes the choice; the worker
    that takes the next stream rebuilds its own head first, so the video is what the server announced
    (384 px at 20 fps, not the 512 px at 25 fps the workers started with)."""
    url, workers = queued_server
    assert _settings_applied(url, {"quality": "speed"})["quality"] == "speed"
    try:
        async def one():
            c = await Client().connect(url)
            await c.sio.emit("start", {}, namespace=NS)
            ready = await c.wait_for("ready")
            await c.wait_for("init", timeout=90)  # sent by a worker
            await c.wait_for("segment", timeout=60, where=lambda d: d["kind"] == "idle" and d["t"] >= 1.0)
            await c.sio.disconnect()
            return c, ready

        c, ready = asyncio.run(one())
        clip = decode_mp4(c.video())
        assert (clip.width, clip.height) == (384, 384) and round(clip.fps) == 20
        assert ready["mime"].startswith("video/mp4")
    finally:
        assert _settings_applied(url, {"quality": "balanced"})["quality"] == "balanced"
    assert all(w.poll() is None for w in workers), "workers are still running"
