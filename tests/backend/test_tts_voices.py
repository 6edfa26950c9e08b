"""Standard TTS voices (RHVoice): the voice list and preview API, a persona's pick, and that it is spoken."""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ai_pipeline.settings import Settings
from ai_pipeline.tts.festival import FestivalSettings
from ai_pipeline.tts.rhvoice import RhvoiceSettings
from backend.db import init_db
from backend.db.seed import seed_default_persona
from backend.errors import install_error_handlers
from backend.routes import personas, tts
from backend.runtime import Runtime
from tests.redis_server import redis_url  # noqa: F401 - the fixture

FREE = ["anna", "irina", "elena", "aleksandr", "aleksandr-hq"]


def _app(tmp_path, settings: Settings, *, load_tts: bool = True):  # type: ignore[no-untyped-def]
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(personas.router)
    app.include_router(tts.router)
    app.state.runtime = runtime = Runtime(settings)  # not started: its database and (maybe) its TTS
    runtime.db = init_db(f"sqlite:///{tmp_path / 'avatar.db'}")
    if load_tts:
        runtime.pipeline.load(stages=("tts",))
    return app, runtime


@pytest.fixture(scope="module")
def rt(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("tts_voices")
    app, runtime = _app(tmp, Settings(data_dir=tmp))
    with TestClient(app) as client:
        yield client, runtime
    runtime.pipeline.close()
    runtime.db.close()


def _wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0, w.getframerate()


def test_voice_list_offers_the_free_voices(rt):
    client, _ = rt
    body = client.get("/api/tts/voices").json()
    assert body["engine"] == "rhvoice" and body["allow_noncommercial"] is False
    assert [v["name"] for v in body["voices"]] == FREE
    assert all(v["licence"] and v["commercial"] is True and v["gender"] in ("female", "male") for v in body["voices"])
    anna = body["voices"][0]
    assert (anna["label"], anna["gender"]) == ("Анна", "female")
    assert body["default"] == {"female": "irina", "male": "aleksandr"}


def test_noncommercial_voices_only_when_allowed(tmp_path):
    settings = Settings(data_dir=tmp_path, tts=RhvoiceSettings(allow_noncommercial_voices=True))
    app, runtime = _app(tmp_path, settings, load_tts=False)  # the list needs no loaded engine
    with TestClient(app) as client:
        body = client.get("/api/tts/voices").json()
    runtime.db.close()
    names = [v["name"] for v in body["voices"]]
    assert body["allow_noncommercial"] is True and names[:5] == FREE and len(names) > 5
    assert all(not v["commercial"] and v["licence"].startswith("CC-BY-NC") for v in body["voices"][5:])


def test_preview_is_a_wav_in_the_voice(rt):
    client, _ = rt
    r = client.post("/api/tts/preview", json={"voice": "aleksandr", "text": None})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    male, rate = _wav(r.content)
    assert rate == 24_000 and len(male) > rate  # the greeting lasts over a second
    assert np.sqrt(np.mean(male ** 2)) > 0.01  # audible
    anna, _ = _wav(client.post("/api/tts/preview", json={"voice": "anna", "text": None}).content)
    assert len(anna) != len(male) or not np.allclose(anna, male)
    short, _ = _wav(client.post("/api/tts/preview", json={"voice": None, "text": "Да."}).content)
    assert 0 < len(short) < len(anna)


@pytest.mark.parametrize("body, code", [
    ({"voice": "nobody", "text": None}, "unknown_voice"),
    ({"voice": "tatiana", "text": None}, "unknown_voice"),  # non-commercial, not allowed by default
    ({"voice": "anna", "text": "а" * 301}, "too_long"),
    ({"voice": "anna", "text": "   "}, "empty_text"),
])
def test_preview_refuses_bad_requests(rt, body, code):
    client, _ = rt
    r = client.post("/api/tts/preview", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    if code == "unknown_voice":
        assert "anna (Анна)" in r.json()["error"]["message"]  # the voices there are, in Russian


def test_persona_tts_voice_is_stored_and_checked(rt):
    client, _ = rt
    r = client.post("/api/personas", json={"name": "Боря", "age": 10, "gender": "male", "tts_voice": "aleksandr"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["tts_voice"] == "aleksandr"
    assert client.patch(f"/api/personas/{pid}", json={"tts_voice": "aleksandr-hq"}).json()["tts_voice"] == \
        "aleksandr-hq"
    assert client.patch(f"/api/personas/{pid}", json={"age": 11}).json()["tts_voice"] == "aleksandr-hq"
    assert client.patch(f"/api/personas/{pid}", json={"tts_voice": None}).json()["tts_voice"] is None
    for bad in ("nobody", "tatiana", "Anna Maria"):
        r = client.patch(f"/api/personas/{pid}", json={"tts_voice": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_voice", r.text
        assert "Доступные голоса" in r.json()["error"]["message"]
    r = client.post("/api/personas", json={"name": "Вера", "age": 30, "tts_voice": "nobody"})
    assert r.status_code == 422
    r = client.put(f"/api/personas/{pid}", json={"name": "Боря", "age": 10, "tts_voice": "nobody"})
    assert r.status_code == 422
    assert client.get(f"/api/personas/{pid}").json()["tts_voice"] is None


def test_an_engine_without_voices_stores_any_well_formed_name(tmp_path):
    app, runtime = _app(tmp_path, Settings(data_dir=tmp_path, tts=FestivalSettings()), load_tts=False)
    with TestClient(app) as client:
        assert client.get("/api/tts/voices").json() == {
            "engine": "festival", "voices": [], "default": {"female": None, "male": None},
            "allow_noncommercial": False}
        r = client.post("/api/personas", json={"name": "Аня", "age": 12, "tts_voice": "whatever-1"})
        assert r.status_code == 201 and r.json()["tts_voice"] == "whatever-1"
        r = client.post("/api/personas", json={"name": "Аня", "age": 12, "tts_voice": "Bad Name"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_persona"
    runtime.db.close()


def test_default_persona_speaks_irina(tmp_path):
    db = init_db(f"sqlite:///{tmp_path / 'avatar.db'}")
    try:
        with db.session() as s:
            anya = seed_default_persona(s)
            assert anya is not None and (anya.gender, anya.tts_voice) == ("female", "irina")
    finally:
        db.close()


# -- the persona's voice is the one spoken -------------------------------------------------------


def test_live_session_speaks_the_personas_voice(rt, caplog):
    from ai_pipeline.timing import StageTimer
    from backend.db.personas import create_persona
    from backend.realtime.live import LiveSession
    from backend.tts_voices import standard_voice_name

    _, runtime = rt
    with runtime.db.session() as s:
        ids = {name: create_persona(s, fields).id for name, fields in {
            "default": {"name": "Аня", "age": 12, "gender": "female"},
            "male": {"name": "Боря", "age": 10, "gender": "male"},
            "anna": {"name": "Ира", "age": 20, "gender": "female", "tts_voice": "anna"},
            "aleksandr": {"name": "Саша", "age": 20, "gender": "female", "tts_voice": "aleksandr"},
            "gone": {"name": "Таня", "age": 20, "gender": "female", "tts_voice": "tatiana"},  # not allowed now
        }.items()}

    async def emit(event: str, data: object) -> None:
        pass

    async def speak(key: str) -> tuple[str | None, np.ndarray]:
        session = LiveSession(runtime, emit, sid=key)
        session.persona_id = ids[key]
        assert await session._persona_voice([]) is None  # no enrolled voice
        chunks = await session._speech("Добрый день! Рада вас видеть.", StageTimer())
        assert session.tts().describe()["voice"] == standard_voice_name(session.tts())
        return standard_voice_name(session.tts()), np.concatenate([c.samples for c in chunks])

    async def all_voices() -> dict[str, tuple[str | None, np.ndarray]]:
        return {key: await speak(key) for key in ids}

    with caplog.at_level("WARNING", logger="backend.tts_voices"):
        spoken = asyncio.run(all_voices())
    assert {key: name for key, (name, _) in spoken.items()} == {
        "default": "irina", "male": "aleksandr", "anna": "anna", "aleksandr": "aleksandr", "gone": "irina"}
    assert "tatiana" in caplog.text  # the voice no longer allowed is logged, the gender's voice speaks
    irina, male = spoken["default"][1], spoken["male"][1]
    assert len(irina) != len(male) or not np.allclose(irina, male)
    assert np.array_equal(male, spoken["aleksandr"][1])  # the same voice says the same text the same way
    assert np.array_equal(irina, spoken["gone"][1])


def test_render_request_takes_a_standard_voice(rt):
    from ai_pipeline.errors import InputError
    from ai_pipeline.request import RenderRequest

    _, runtime = rt
    pipeline = runtime.pipeline
    assert pipeline.resolve(RenderRequest(text="Привет", tts_voice="aleksandr")).tts_voice == "aleksandr"
    assert RenderRequest(text="Привет", tts_voice=" ").tts_voice is None
    with pytest.raises(InputError) as bad:
        pipeline.resolve(RenderRequest(text="Привет", tts_voice="nobody"))
    assert bad.value.code == "unknown_voice"
    with pytest.raises(InputError) as both:
        RenderRequest(audio=b"RIFF", tts_voice="anna")
    assert both.value.code == "bad_request"


def test_cli_render_picks_the_standard_voice(tmp_path, data_dir):
    import json

    from tests.backend.test_cli import run
    from tests.support import decode_mp4

    text = "Добрый день! Рада вас видеть."
    clips = {}
    for voice in ("aleksandr", None):
        out = tmp_path / f"{voice}.mp4"
        r = run(["render", "--text", text, *(["--tts-voice", voice] if voice else []), "--out", str(out), "--quiet"],
                data_dir)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["tts_voice"] == (voice or "irina")
        clips[voice] = decode_mp4(out.read_bytes()).audio
    assert len(clips["aleksandr"]) != len(clips[None]) or not np.allclose(clips["aleksandr"], clips[None], atol=1e-3)
    bad = run(["render", "--text", text, "--tts-voice", "nobody", "--out", str(tmp_path / "x.mp4")], data_dir)
    assert bad.returncode == 2 and "[unknown_voice]" in bad.stderr
    assert "Доступные голоса: anna (Анна)" in bad.stderr and "aleksandr-hq" in bad.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_previews_are_bounded(rt):
    client, _ = rt
    taken = [tts._slots.acquire(blocking=False) for _ in range(tts.MAX_PREVIEWS)]  # as if two were synthesising
    try:
        assert all(taken)
        r = client.post("/api/tts/preview", json={"voice": "anna", "text": None})
        assert r.status_code == 503 and r.json()["error"]["code"] == "busy", r.text
        assert "Попробуйте снова" in r.json()["error"]["message"]
    finally:
        for _ in taken:
            tts._slots.release()
    assert client.post("/api/tts/preview", json={"voice": "anna", "text": "Да."}).status_code == 200


def test_render_api_takes_a_standard_voice(tmp_path):
    from backend.jobs import JobStore
    from backend.routes import render
    from tests.support import decode_mp4

    app, runtime = _app(tmp_path, Settings(data_dir=tmp_path), load_tts=False)
    app.include_router(render.router)
    runtime.pipeline.load(stages=("tts", "talking_head"))
    runtime.jobs = JobStore(tmp_path / "renders")
    text = "Добрый день! Рада вас видеть."
    try:
        with TestClient(app) as client:
            audio = {}
            for voice in ("aleksandr", ""):  # "" from a form: the engine's voice
                r = client.post("/api/render", data={"text": text, "tts_voice": voice, "mode": "sync"})
                assert r.status_code == 200 and r.headers["content-type"] == "video/mp4", r.text
                audio[voice] = decode_mp4(r.content).audio
            assert len(audio["aleksandr"]) != len(audio[""]) or \
                not np.allclose(audio["aleksandr"], audio[""], atol=1e-3)
            r = client.post("/api/render", data={"text": text, "tts_voice": "tatiana"})
            assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_voice"
            assert "anna (Анна)" in r.json()["error"]["message"]
    finally:
        runtime.pipeline.close()
        runtime.db.close()


def test_live_conversation_reports_and_speaks_the_personas_voice(tmp_path_factory, redis_url):  # noqa: F811
    import httpx

    from ai_pipeline.llm.llama_cpp import LlamaCppSettings
    from ai_pipeline.settings import RedisSettings
    from backend.background_server import serving
    from tests.backend.test_realtime import NS, Client

    settings = Settings(data_dir=tmp_path_factory.mktemp("live_tts"), redis=RedisSettings(url=redis_url),
                        llm=LlamaCppSettings(max_tokens=24))
    with serving(settings) as url:
        boris = httpx.post(f"{url}/api/personas", json={"name": "Боря", "age": 10, "gender": "male",
                                                        "greeting": "Привет! Я Боря."}, timeout=30).json()

        async def greet(persona_id: int | None) -> tuple[dict, dict]:
            c = await Client().connect(url)
            await c.sio.emit("start", {"greet": True, **({"persona_id": persona_id} if persona_id else {})},
                             namespace=NS)
            ready = await c.wait_for("ready", timeout=120)
            end = await c.wait_for("turn_end", timeout=240)
            await c.sio.disconnect()
            return ready, end

        anya_ready, anya_end = asyncio.run(greet(None))  # the seeded Аня
        boris_ready, boris_end = asyncio.run(greet(boris["id"]))
    assert anya_ready["tts_voice"] == "irina" and anya_end["reason"] == "done"
    assert boris_ready["tts_voice"] == "aleksandr" and boris_end["reason"] == "done"  # by gender, no pick


def test_live_session_with_an_enrolled_voice_speaks_its_prepared_base(rt):
    """A persona with recordings and no standard voice of its own speaks the base its preparation found
    closest once matched (a lower male voice: not the female default)."""
    from ai_pipeline.voice.prepare import prepare_voice
    from ai_pipeline.voice.store import VoiceStore
    from backend.db.personas import create_persona
    from backend.realtime.live import LiveSession
    from tests.ai_pipeline.voice.speech import nsh, speed
    from tests.voice_samples import wav_bytes

    _, runtime = rt
    settings = runtime.settings
    store = VoiceStore(settings.voices_dir, limits=settings.limits)
    files = [(f"utt{i}.wav", wav_bytes(c.samples, c.sample_rate)) for i, c in enumerate(
        speed(c, 0.87) for c in nsh(130, 5))]
    voice, _ = store.create("Низкий", files)
    base = prepare_voice(voice, runtime.pipeline.tts)["base_voice"]
    assert base in ("aleksandr", "aleksandr-hq")
    with runtime.db.session() as s:
        persona_id = create_persona(s, {"name": "Гена", "age": 30, "gender": "female", "voice_id": voice.id}).id

    async def emit(event: str, data: object) -> None:
        pass

    async def voices() -> tuple[object, str]:
        session = LiveSession(runtime, emit, sid="enrolled")
        session.persona_id = persona_id
        enrolled = await session._persona_voice([])
        return enrolled, session.tts().describe()["voice"]

    enrolled, spoken = asyncio.run(voices())
    assert enrolled is not None and enrolled.id == voice.id
    assert spoken == base  # not irina, the default for the persona's gender
