"""The live conversation server for real: uvicorn + Redis + socketio.AsyncClient + real engines."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
import socketio

from ai_pipeline.llm.llama_cpp import LlamaCppSettings
from ai_pipeline.settings import RedisSettings, Settings
from backend.background_server import serving
from tests.redis_server import redis_url  # noqa: F401 - the fixture
from tests.support import decode_mp4

NS = "/conversation"


@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_url):  # noqa: F811
    settings = Settings(data_dir=tmp_path_factory.mktemp("live"), redis=RedisSettings(url=redis_url),
                        llm=LlamaCppSettings(max_tokens=24))
    with serving(settings) as url:
        yield url


class Client:
    """A socket.io client that records every event."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient()
        self.events: list[tuple[str, object]] = []
        self.sio.on("*", self._any, namespace=NS)

    async def _any(self, event: str, data: object = None) -> None:
        self.events.append((event, data))

    async def connect(self, url: str) -> Client:
        await self.sio.connect(url, namespaces=[NS], transports=["websocket"])
        return self

    def names(self) -> list[str]:
        return [e for e, _ in self.events]

    def of(self, name: str) -> list:
        return [d for e, d in self.events if e == name]

    async def wait_for(self, name: str, timeout: float = 60, where=lambda d: True) -> object:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e, d in self.events:
                if e == name and where(d):
                    return d
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {name!r} event; got {self.names()[-20:]}, errors {self.of('error')}")

    def video(self) -> bytes:
        init = self.of("init")[0]["data"]
        return init + b"".join(d["data"] for d in self.of("segment"))


def run(coro):
    return asyncio.run(coro)


def test_text_turn_streams_playable_video(server):
    async def go():
        c = await Client().connect(server)
        await c.sio.emit("start", {}, namespace=NS)
        ready = await c.wait_for("ready")
        await c.wait_for("init")
        await c.wait_for("segment", where=lambda d: d["kind"] == "idle")
        await c.sio.emit("text", {"text": "Привет! Как тебя зовут?"}, namespace=NS)
        end = await c.wait_for("turn_end", timeout=120)
        await asyncio.sleep(0.5)
        await c.sio.disconnect()
        return c, ready, end

    c, ready, end = run(go())
    assert ready["session_id"] and ready["mime"].startswith("video/mp4")
    assert [p["value"] for p in c.of("progress")] == [0.0, 1.0]
    assert end["reason"] == "done"
    assert c.of("reply") and all(r["emotion"] for r in c.of("reply"))
    speech = [d for d in c.of("segment") if d["kind"] == "speech"]
    assert speech, "speech segments were sent"
    # each speech segment names the reply chunk it says (captions follow playback), in reply order
    said = [d["chunk"] for d in speech]
    assert said and set(said) <= {r["index"] for r in c.of("reply")} and said == sorted(said), said
    assert all(d.get("chunk") is None for d in c.of("segment") if d["kind"] == "idle")
    times = [d["t"] for d in c.of("segment")]
    assert times == sorted(times), "one continuous timeline"
    timings = c.of("timings")[0]
    assert timings["first_segment_s"] > 0
    clip = decode_mp4(c.video())
    assert len(clip.frames) >= int(times[-1] * 25)
    # a live stream has no end: where the client stops, audio trails by the AAC encoder look-ahead
    assert abs(clip.video_duration - clip.audio_duration) < 0.25


def test_spoken_question_as_webm_chunks(server, tmp_path):
    import numpy as np

    from ai_pipeline.media.audio_io import write_wav
    from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS

    tts = FestivalTTS(FestivalSettings())
    tts.load()
    speech = tts.synthesize_sentence("Какой твой любимый цвет?").samples
    tts.close()
    pad = np.zeros(8000, np.float32)
    wav = tmp_path / "q.wav"
    write_wav(wav, np.concatenate([pad, speech, pad, pad, pad]), 16000)
    webm = tmp_path / "q.webm"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "libopus", "-b:a", "32k", "-f", "webm",
                    str(webm)], check=True)
    data = webm.read_bytes()

    async def go():
        c = await Client().connect(server)
        await c.sio.emit("start", {"audio_format": "webm"}, namespace=NS)
        await c.wait_for("ready")
        for i in range(0, len(data), 2000):  # ~250 ms of opus per message
            await c.sio.emit("audio", data[i:i + 2000], namespace=NS)
            await asyncio.sleep(0.02)
        await c.sio.emit("audio_end", namespace=NS)
        final = await c.wait_for("transcript", where=lambda d: d["final"])
        await c.wait_for("turn_end", timeout=120)
        await c.sio.disconnect()
        return c, final

    c, final = run(go())
    assert "цвет" in final["text"].lower()
    assert "speech_start" in c.names()
    assert any(d["kind"] == "speech" for d in c.of("segment"))
    assert "asr_final_s" in c.of("turn_end")[0]["timings"]


def test_barge_in_stops_the_turn(server):
    async def go():
        c = await Client().connect(server)
        await c.sio.emit("start", {}, namespace=NS)
        await c.wait_for("ready")
        await c.sio.emit("text", {"text": "Расскажи длинную сказку про кота."}, namespace=NS)
        first = await c.wait_for("segment", timeout=120, where=lambda d: d["kind"] == "speech")
        await c.sio.emit("stop", namespace=NS)
        stopped = await c.wait_for("interrupted")
        cut = len(c.events)
        await asyncio.sleep(1.5)
        later = c.events[cut:]
        await c.sio.disconnect()
        return first, stopped, later

    first, stopped, later = run(go())
    assert stopped["turn"] == first["turn"] and stopped["reason"] == "stop"
    after = [d for e, d in later if e == "segment"]
    assert all(d["kind"] == "idle" for d in after), "no speech after the interruption"
    assert after, "the avatar stays alive (idle video continues)"
    assert not [e for e, _ in later if e == "turn_end"]


def test_greeting_is_cached_and_sessions_run_concurrently(server):
    async def one():
        c = await Client().connect(server)
        await c.sio.emit("start", {"greet": True}, namespace=NS)
        end = await c.wait_for("turn_end", timeout=120)
        await c.sio.disconnect()
        return c, end

    async def go():
        first = await one()
        both = await asyncio.gather(one(), one())
        return first, both

    (c1, end1), both = run(go())
    assert end1["reason"] == "done"
    for c, end in both:
        assert end["reason"] == "done"
        assert "cache_hit_s" in end["timings"], "the repeated greeting came from the Redis clip cache"
        assert any(d["kind"] == "speech" for d in c.of("segment"))
        assert c.of("reply")[0]["text"] == c1.of("reply")[0]["text"]


def test_malformed_input_gets_error_events(server):
    async def go():
        c = await Client().connect(server)
        await c.sio.emit("text", {"text": "Привет"}, namespace=NS)  # before start
        await c.wait_for("error", where=lambda d: d["code"] == "not_started")
        await c.sio.emit("start", {"persona_id": "abc"}, namespace=NS)
        await c.wait_for("error", where=lambda d: d["code"] == "bad_message")
        await c.sio.emit("dance", {"x": 1}, namespace=NS)
        await c.wait_for("error", where=lambda d: d["code"] == "unknown_event")
        await c.sio.emit("start", {}, namespace=NS)
        await c.wait_for("ready")
        await c.sio.emit("audio", "not bytes", namespace=NS)
        await c.wait_for("error", where=lambda d: d["code"] == "bad_message")
        await c.sio.emit("text", {"text": ""}, namespace=NS)
        await c.wait_for("error", where=lambda d: d["code"] == "bad_message" and "text" in d["detail"])
        await c.sio.emit("audio", b"\x00garbage" * 1000, namespace=NS)
        await c.wait_for("error", where=lambda d: d["code"] == "bad_audio")
        await c.sio.emit("text", {"text": "Ты тут?"}, namespace=NS)  # still alive
        await c.wait_for("turn_end", timeout=120)
        await c.sio.disconnect()

    run(go())


def test_restart_mid_turn_keeps_the_conversation(tmp_path, redis_url):  # noqa: F811
    """The server stops while the avatar is answering; a new server on the same data has every message."""
    import httpx

    settings = Settings(data_dir=tmp_path, redis=RedisSettings(url=redis_url), llm=LlamaCppSettings(max_tokens=60))

    async def talk(url: str):
        c = await Client().connect(url)
        await c.sio.emit("start", {}, namespace=NS)
        ready = await c.wait_for("ready")
        await c.sio.emit("text", {"text": "Меня зовут Коля. Расскажи длинную историю про море."}, namespace=NS)
        first = await c.wait_for("reply", timeout=120)
        return c, ready["session_id"], first["text"]

    with serving(settings) as url:
        c, session_id, first_chunk = run(talk(url))
    # leaving the block stopped the server mid-turn: a chunk is stored before its `reply` event
    # goes out, so this holds whatever the server was doing when it stopped
    with serving(settings) as url2:
        messages = httpx.get(f"{url2}/api/sessions/{session_id}/messages", timeout=30).json()
        items = messages if isinstance(messages, list) else messages["items"]
        facts = httpx.get(f"{url2}/api/personas/1/facts", timeout=30).json()
    assert items[0]["role"] == "user" and "Коля" in items[0]["text"]
    assert items[-1]["role"] == "assistant", "what was already said is kept"
    assert items[-1]["text"].startswith(first_chunk.strip())
    assert "Коля" in str(facts)


def test_token_is_required_to_connect_when_configured(tmp_path, redis_url):  # noqa: F811
    from ai_pipeline.settings import ServerSettings

    settings = Settings(data_dir=tmp_path, redis=RedisSettings(url=redis_url), server=ServerSettings(token="s3cret"))
    async def go(url: str):
        refused = socketio.AsyncClient()
        errors: list = []
        refused.on("connect_error", errors.append, namespace=NS)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(url, namespaces=[NS], transports=["websocket"],
                                  wait_timeout=5)
        # what the web app shows: the typed refusal, not the str() of a dict
        assert errors == [{"message": "Нужен токен.", "data": {"code": "unauthorized", "message": "Нужен токен."}}]
        allowed = socketio.AsyncClient()
        await allowed.connect(url, namespaces=[NS], transports=["websocket"],
                              auth={"token": "s3cret"}, wait_timeout=5)
        connected = allowed.connected
        await allowed.disconnect()
        return connected

    with serving(settings) as url:
        assert run(go(url))


def test_origin_check_allows_the_served_page_and_configured_origins():
    from backend.realtime.server import origin_check
    check = origin_check(["http://localhost:5173"])
    env = {"HTTP_HOST": "127.0.0.1:41234", "wsgi.url_scheme": "http"}
    assert check("http://127.0.0.1:41234", env)  # the page this server served, on any port
    assert check("http://localhost:5173", env)  # the Vite dev server
    assert not check("http://evil.example", env)
    assert not check("http://127.0.0.1:9999", env)
    assert check(None, env)  # non-browser clients send no Origin
