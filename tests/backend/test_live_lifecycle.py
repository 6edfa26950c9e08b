"""A live server under real use: clients that leave, race, flood or crowd it; SIGTERM.

The server runs in this process (uvicorn in a thread, no Redis), so its CPU time and its
``/api/health`` realtime block show whether a client's work really ended.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import socketio

from ai_pipeline.gpu import gpu_manager
from ai_pipeline.llm.llama_cpp import LlamaCppSettings
from ai_pipeline.settings import RealtimeSettings, RedisSettings, Settings, TrainingSettings
from backend.background_server import free_port, serving
from tests.backend.test_realtime import NS, Client


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("lifecycle"), redis=RedisSettings(url=None),
                        llm=LlamaCppSettings(max_tokens=24),
                        realtime=RealtimeSettings(max_sessions=2, turns_per_minute=5, events_per_10s=60))
    with serving(settings) as url:
        wait_idle()  # the start-up prefill has finished
        yield url


def realtime(url: str) -> dict:
    return httpx.get(f"{url}/api/health", timeout=30).json()["realtime"]


def cpu_share(window_s: float = 2.0) -> float:
    """CPU seconds per second used by this process (server and all) over ``window_s``."""
    wall, cpu = time.monotonic(), time.process_time()
    time.sleep(window_s)
    return (time.process_time() - cpu) / (time.monotonic() - wall)


def wait_idle(limit: float = 0.15, timeout_s: float = 120) -> float:
    deadline = time.monotonic() + timeout_s
    while (share := cpu_share(1.0)) > limit and time.monotonic() < deadline:
        pass
    return share


def ended_within(url: str, seconds: float) -> dict:
    """Poll health until no client, session or stream is left; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        state = realtime(url)
        if state["clients"] == 0 and state["sessions"] == 0 and state["streams"] == 0:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"still running {seconds} s after the disconnect: {state}")
        time.sleep(0.1)


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("how", ["after_ready", "during_start", "double_start", "mid_turn"])
def test_everything_of_a_client_ends_when_it_leaves(server, how):
    async def visit():
        c = await Client().connect(server)
        await c.sio.emit("start", {"greet": how == "mid_turn"}, namespace=NS)
        if how == "double_start":
            await c.sio.emit("start", {}, namespace=NS)
        if how != "during_start":
            await c.wait_for("segment")
        if how == "mid_turn":
            await c.wait_for("segment", where=lambda d: d["kind"] == "speech")
        if how == "double_start":
            await c.wait_for("error", where=lambda d: d["code"] == "already_started")
            await asyncio.sleep(1)
            assert len(c.of("ready")) == 1 and len(c.of("init")) == 1, "one stream per client"
        await c.sio.disconnect()
        return time.monotonic()

    left = run(visit())
    ended_within(server, 2.0)
    assert gpu_manager().describe()["conversations"] == 0  # background GPU work may use the memory again
    time.sleep(max(0.0, left + 2.0 - time.monotonic()))
    assert cpu_share(2.0) < 0.15, "nothing keeps rendering, encoding or generating for a client that left"


def test_capacity_refuses_with_busy_and_frees_the_slot(server):
    async def go():
        a, b, c = Client(), Client(), Client()
        for x in (a, b, c):
            await x.connect(server)
        for x in (a, b):
            await x.sio.emit("start", {}, namespace=NS)
            await x.wait_for("ready")
        await c.sio.emit("start", {}, namespace=NS)
        busy = await c.wait_for("error", where=lambda d: d["code"] == "busy")
        state = realtime(server)
        assert gpu_manager().describe()["conversations"] == 2  # a refused start holds nothing
        await a.sio.disconnect()
        await asyncio.sleep(0.5)
        await c.sio.emit("start", {}, namespace=NS)  # the slot a left is free again
        await c.wait_for("ready")
        for x in (b, c):
            await x.sio.disconnect()
        return busy, state

    busy, state = run(go())
    assert "занят" in busy["message"] and busy["retry_after_s"] > 0
    assert state["sessions"] == 2 and state["max_sessions"] == 2 and state["clients"] == 3
    ended_within(server, 2.0)
    assert gpu_manager().describe()["conversations"] == 0


def test_an_idle_open_conversation_stops_holding_a_training_back(tmp_path):
    """An open conversation with no turn for ``training.idle_conversation_s`` no longer counts with the VRAM
    ledger (a paused voice training goes on); the user's next text counts it again at once, and leaving
    releases it as before."""
    settings = Settings(data_dir=tmp_path, redis=RedisSettings(url=None), llm=LlamaCppSettings(max_tokens=16),
                        training=TrainingSettings(idle_conversation_s=2.0))

    def counted() -> int:
        return int(gpu_manager().describe()["conversations"])

    async def go(url: str) -> list[int]:
        c = await Client().connect(url)
        await c.sio.emit("start", {"greet": False}, namespace=NS)
        await c.wait_for("ready")
        seen = [counted()]
        deadline = time.monotonic() + 20
        while counted() and time.monotonic() < deadline:  # idle: released after about 2 s
            await asyncio.sleep(0.1)
        seen.append(counted())
        await c.sio.emit("text", {"text": "Привет!"}, namespace=NS)
        await asyncio.sleep(0.5)
        seen.append(counted())  # counted again while the reply is made
        await c.wait_for("turn_end", timeout=120)
        seen.append(counted())
        await c.sio.disconnect()
        return seen

    with serving(settings) as url:
        seen = run(go(url))
        ended_within(url, 2.0)
        assert counted() == 0
    assert seen == [1, 0, 1, 1], seen


def test_turn_and_event_limits_without_redis(server):
    async def go():
        c = await Client().connect(server)
        await c.sio.emit("start", {}, namespace=NS)
        await c.wait_for("ready")
        for i in range(200):
            await c.sio.emit("text", {"text": f"Вопрос номер {i}"}, namespace=NS)
        await c.wait_for("error", where=lambda d: d["code"] == "rate_limited")
        await asyncio.sleep(2)
        await c.sio.disconnect()
        return c

    c = run(go())
    limited = [e for e in c.of("error") if e["code"] == "rate_limited"]
    assert limited and all(e["message"] for e in limited)
    turns = {r["turn"] for r in c.of("reply")} | {t["turn"] for t in c.of("turn_end")} | \
        {t["turn"] for t in c.of("interrupted")}
    assert len(turns) <= 5, f"at most turns_per_minute turns started, got {sorted(turns)}"
    assert len(c.of("error")) < 20, "a flood is answered with a few errors, not one per message"
    ended_within(server, 2.0)


def test_bad_input_never_gets_internal_error(server, tmp_path):
    webm = spoken_webm(tmp_path, "Какой сегодня день?")

    async def go():
        c = await Client().connect(server)
        await c.sio.emit("start", {"persona_id": 2**70}, namespace=NS)
        await c.wait_for("error", where=lambda d: d["code"] == "bad_message")
        await c.sio.emit("start", {}, namespace=NS)
        await c.wait_for("ready")
        await c.sio.emit("stop", ("one", "two"), namespace=NS)  # two arguments
        await c.wait_for("error", where=lambda d: d["code"] == "bad_message" and "arguments" in d["detail"])
        await c.sio.emit("audio", b"\x00garbage" * 1000, namespace=NS)
        await c.wait_for("error", where=lambda d: d["code"] == "bad_audio")
        await c.sio.emit("audio_end", namespace=NS)
        await asyncio.sleep(0.5)
        for i in range(0, len(webm), 4000):  # the next recording works: a fresh decoder
            await c.sio.emit("audio", webm[i:i + 4000], namespace=NS)
        await c.sio.emit("audio_end", namespace=NS)
        final = await c.wait_for("transcript", timeout=120, where=lambda d: d.get("final") and d["text"].strip())
        await c.sio.disconnect()
        return c, final

    c, final = run(go())
    assert not [e for e in c.of("error") if e["code"] == "internal_error"], c.of("error")
    assert "день" in final["text"].lower()
    assert all(len(e["detail"]) <= 300 for e in c.of("error"))


def test_transcript_arrives_when_the_client_sends_nothing_more(server):
    """The end of speech is heard in the last chunk; the transcript is ready only after it, and must
    still reach the client (a PCM client that stops sending, a phone that locks its screen)."""
    import numpy as np

    from ai_pipeline.settings import VADSettings
    from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS

    tts = FestivalTTS(FestivalSettings())
    tts.load()
    speech = tts.synthesize_sentence("Расскажи мне про космос.").samples
    tts.close()
    tail = int((VADSettings().hangover_ms + 300) * 16)
    pcm = (np.concatenate([np.zeros(4000, np.float32), speech, np.zeros(tail, np.float32)]) * 32767).astype("<i2")

    async def go():
        c = await Client().connect(server)
        await c.sio.emit("start", {"audio_format": "pcm16", "sample_rate": 16000}, namespace=NS)
        await c.wait_for("ready")
        await c.sio.emit("audio", pcm.tobytes(), namespace=NS)  # all at once, then silence on the wire
        final = await c.wait_for("transcript", timeout=60, where=lambda d: d["final"])
        await c.wait_for("reply", timeout=120)
        await c.sio.disconnect()
        return final

    final = run(go())
    assert "космос" in final["text"].lower()


def spoken_webm(tmp_path, text: str) -> bytes:
    """``text`` said by festival, as the WebM/Opus a browser's MediaRecorder sends."""
    import numpy as np

    from ai_pipeline.media.audio_io import write_wav
    from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS

    tts = FestivalTTS(FestivalSettings())
    tts.load()
    speech = tts.synthesize_sentence(text).samples
    tts.close()
    pad = np.zeros(8000, np.float32)
    wav, webm = tmp_path / "q.wav", tmp_path / "q.webm"
    write_wav(wav, np.concatenate([pad, speech, pad, pad, pad]), 16000)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "libopus", "-b:a", "32k", "-f", "webm",
                    str(webm)], check=True)
    return webm.read_bytes()


def test_sigterm_stops_the_server_within_five_seconds(tmp_path):
    port = free_port()
    env = {**os.environ, "AVATAR_DATA_DIR": str(tmp_path), "AVATAR_REDIS__URL": "redis://127.0.0.1:1/0",
           "AVATAR_LLM__MAX_TOKENS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError("the server did not start")

        async def talk():  # a client mid-answer when the signal comes
            c = await Client().connect(url)
            await c.sio.emit("start", {}, namespace=NS)
            await c.wait_for("ready")
            await c.sio.emit("text", {"text": "Расскажи длинную историю про море."}, namespace=NS)
            await c.wait_for("reply", timeout=120)
            proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            await asyncio.to_thread(proc.wait, 30)
            return time.monotonic() - sent

        took = run(talk())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert took < 5.0, f"stopped {took:.1f} s after SIGTERM"


def test_busy_refusal_is_a_typed_error():
    from backend.realtime.server import Busy

    err = Busy(3, 30).to_dict()
    assert err["code"] == "busy" and err["retry_after_s"] == 30 and "3" in err["message"]


def test_socket_client_gets_busy_before_any_work(server):
    """A refused client costs nothing: no stream, no session slot."""
    async def go():
        held = [await Client().connect(server) for _ in range(2)]
        for x in held:
            await x.sio.emit("start", {}, namespace=NS)
            await x.wait_for("ready")
        extra = socketio.AsyncClient()
        events = []
        extra.on("*", lambda e, d=None: events.append((e, d)), namespace=NS)
        await extra.connect(server, namespaces=[NS], transports=["websocket"])
        await extra.emit("start", {}, namespace=NS)
        await asyncio.sleep(1.0)
        state = realtime(server)
        await extra.disconnect()
        for x in held:
            await x.sio.disconnect()
        return events, state

    events, state = run(go())
    assert [e for e, _ in events] == ["error"] and events[0][1]["code"] == "busy"
    assert state["streams"] == 2
    ended_within(server, 2.0)
