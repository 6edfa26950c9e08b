"""An enrolled voice used end to end: `avatar render --voice`, POST /api/render, and a persona's voice live."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ai_pipeline.llm.llama_cpp import LlamaCppSettings
from ai_pipeline.settings import RedisSettings, Settings
from ai_pipeline.voice.store import VoiceStore
from backend.background_server import serving
from tests.ai_pipeline.voice.speech import NSH_WAVS
from tests.backend.test_realtime import NS, Client
from tests.redis_server import redis_url  # noqa: F401 - the fixture
from tests.support import decode_mp4

AVATAR = [str(Path(sys.executable).with_name("avatar"))]
TEXT = "Добрый день! Рада вас видеть."


def enrol(data_dir: Path, name: str):  # type: ignore[no-untyped-def]
    """A real voice (four studio recordings, ~36 s) enrolled through the store, as `avatar voice add` does."""
    files = [(p.name, p.read_bytes()) for p in sorted(NSH_WAVS.glob("ru_*.wav"))[500:504]]
    voice, report = VoiceStore(data_dir / "voices").create(name, files)
    assert report.enough, report.to_dict()
    return voice


def test_cli_render_speaks_in_the_voice(tmp_path, data_dir):
    voice = enrol(data_dir, "Диктор")
    env = {**os.environ, "AVATAR_DATA_DIR": str(data_dir), "AVATAR_TTS__ENGINE": "espeak"}
    out = tmp_path / "voiced.mp4"
    run = subprocess.run(AVATAR + ["render", "--text", TEXT, "--voice", "Диктор", "--out", str(out), "--quiet"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["voice"] == voice.key and summary["timings"]["voice_s"] > 0
    assert (voice.folder / "profile.json").is_file()  # estimated on first use
    assert len(decode_mp4(out.read_bytes()).frames) == summary["frames"] > 10
    plain = subprocess.run(AVATAR + ["render", "--text", TEXT, "--out", str(tmp_path / "plain.mp4"), "--quiet"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert plain.returncode == 0, plain.stderr
    assert "voice_s" not in json.loads(plain.stdout)["timings"]
    missing = subprocess.run(AVATAR + ["render", "--text", TEXT, "--voice", "Нет такого", "--out", str(out)],
                             capture_output=True, text=True, env=env, timeout=300)
    assert missing.returncode == 2 and "не найден" in missing.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_url):  # noqa: F811
    data_dir = tmp_path_factory.mktemp("voiced")
    voice = enrol(data_dir, "Голос")
    settings = Settings(data_dir=data_dir, redis=RedisSettings(url=redis_url), llm=LlamaCppSettings(max_tokens=24))
    with serving(settings) as url:
        yield url, voice


def test_render_api_accepts_a_voice(server):
    url, voice = server
    r = httpx.post(f"{url}/api/render", data={"text": TEXT, "voice_id": voice.id}, timeout=300)
    assert r.status_code == 200, r.text
    assert json.loads(r.headers["X-Render-Timings"])["voice_s"] > 0
    r = httpx.post(f"{url}/api/render", data={"text": TEXT, "voice_id": "0123456789ab"}, timeout=60)
    assert r.status_code == 404 and r.json()["error"]["code"] == "voice_not_found"


def test_persona_with_a_voice_speaks_in_it(server):
    url, voice = server
    persona = httpx.post(f"{url}/api/personas", json={"name": "Вера", "age": 30, "greeting": TEXT,
                                                      "voice_id": voice.id}, timeout=30)
    assert persona.status_code == 201, persona.text

    async def go():  # type: ignore[no-untyped-def]
        c = await Client().connect(url)
        await c.sio.emit("start", {"persona_id": persona.json()["id"], "greet": True}, namespace=NS)
        ready = await c.wait_for("ready", timeout=120)
        end = await c.wait_for("turn_end", timeout=120)
        await c.sio.disconnect()
        return ready, end

    ready, end = asyncio.run(go())
    assert ready["voice"] == voice.key and not ready["warnings"]
    assert end["reason"] == "done" and end["timings"]["voice_s"] > 0
