"""The HTTP API on the real app (lifespan loads the real engines)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from ai_pipeline.settings import LimitSettings, ServerSettings, Settings
from backend.app import create_app
from tests.support import decode_mp4


@pytest.fixture(scope="module")
def client(data_dir):
    settings = Settings(data_dir=data_dir, limits=LimitSettings(max_upload_mb=2.0, job_text_chars=120))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:  # a loopback Host
        yield c


def test_health_reports_engines_and_models(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["engines"]["tts"]["engine"] == "rhvoice"
    assert body["engines"]["talking_head"]["engine"] == "mesh_warp"
    assert all(m["present"] for m in body["models"])
    assert {"rhvoice", "festival", "espeak"} <= set(body["available_engines"]["tts"])


def test_openapi_docs(client):
    assert "/api/render" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_render_text_with_uploaded_photo(client, photo_bytes):
    r = client.post("/api/render", data={"text": "Добрый день!"},
                    files={"photo": ("me.png", photo_bytes, "image/png")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "video/mp4"
    clip = decode_mp4(r.content)
    assert len(clip.frames) > 10 and abs(clip.video_duration - clip.audio_duration) <= 0.04 + 1e-6
    assert "total_s" in r.headers["x-render-timings"]


def test_render_default_avatar_from_audio(client, tmp_path):
    import subprocess

    wav = tmp_path / "a.ogg"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=200:d=1.5", "-ac", "2", "-ar", "44100",
                    str(wav)], check=True)
    r = client.post("/api/render", files={"audio": ("a.ogg", wav.read_bytes(), "audio/ogg")})
    assert r.status_code == 200, r.text
    clip = decode_mp4(r.content)
    assert abs(clip.audio_duration - 1.5) < 0.1


@pytest.mark.parametrize("files,data,status,code", [
    ({"photo": ("x.png", b"not an image at all" * 20, "image/png")}, {"text": "Привет"}, 422, "bad_image"),
    ({"photo": ("x.txt", b"hello", "text/plain")}, {"text": "Привет"}, 422, "bad_type"),
    ({"photo": ("x.png", b"\x89PNG" + b"0" * 2_100_000, "image/png")}, {"text": "Привет"}, 413, "too_large"),
    ({}, {"text": "   "}, 422, "empty_text"),
    ({}, {}, 422, "empty_text"),
    ({"audio": ("a.wav", b"RIFF....garbage" * 50, "audio/wav")}, {}, 422, "bad_audio"),
    ({}, {"text": "a" * 2001}, 413, "text_too_long"),
])
def test_bad_requests_get_json_errors(client, files, data, status, code):
    r = client.post("/api/render", data=data, files=files or None)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]


def test_photo_without_face(client):
    from skimage import data

    from ai_pipeline.media.image_io import encode_png

    r = client.post("/api/render", data={"text": "Привет"},
                    files={"photo": ("coffee.png", encode_png(data.coffee()), "image/png")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_face"


def test_long_text_becomes_a_job(client):
    text = "Это длинный текст для фонового задания. " * 4
    r = client.post("/api/render", data={"text": text})
    assert r.status_code == 202, r.text
    status_url = r.json()["status_url"]
    deadline = time.time() + 120
    while time.time() < deadline:
        job = client.get(status_url).json()
        if job["status"] in ("done", "error"):
            break
        assert 0.0 <= job["progress"] <= 1.0
        time.sleep(0.3)
    assert job["status"] == "done", job
    video = client.get(job["result_url"])
    assert video.status_code == 200 and len(decode_mp4(video.content).frames) > 50
    assert client.get("/api/jobs/nope").json()["error"]["code"] == "job_not_found"


def test_token_is_required_when_configured(data_dir):
    settings = Settings(data_dir=data_dir, server=ServerSettings(token="s3cret"))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:  # a loopback Host
        assert c.get("/api/health").status_code == 200
        assert c.post("/api/render", data={"text": "Привет"}).status_code == 401
        assert c.post("/api/render", data={"text": "Привет"}, headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_transcribe_endpoint(client):
    from pathlib import Path

    clip = Path(__file__).resolve().parent.parent / "data" / "asr" / "festival_04.ogg"
    r = client.post("/api/transcribe", files={"audio": ("q.ogg", clip.read_bytes(), "audio/ogg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["language"] == "ru" and "цвет" in body["text"].lower()
    assert body["segments"] and body["audio_duration_s"] > 0.5
    bad = client.post("/api/transcribe", files={"audio": ("q.ogg", b"garbage" * 100, "audio/ogg")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_audio"


def test_chat_streams_ndjson_and_history_is_kept(client):
    import json

    personas = client.get("/api/personas").json()
    anya = next(p for p in (personas if isinstance(personas, list) else personas["items"]) if p["name"] == "Аня")
    r = client.post("/api/chat", json={"persona_id": anya["id"], "text": "Привет! Как дела?"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines[0]["type"] == "session" and lines[-1]["type"] == "done"
    chunks = [line for line in lines if line["type"] == "chunk"]
    assert chunks and all(c["speech"] and c["emotion"] for c in chunks)
    session_id = lines[0]["session_id"]
    history = client.get(f"/api/sessions/{session_id}/messages").json()
    items = history if isinstance(history, list) else history["items"]
    assert [m["role"] for m in items][-2:] == ["user", "assistant"]
    missing = client.post("/api/chat", json={"persona_id": 9999, "text": "Привет"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_render_with_a_prepared_avatar_id(client, photo_bytes):
    avatar = client.post("/api/avatars", files={"photo": ("me.png", photo_bytes, "image/png")}).json()
    r = client.post("/api/render", data={"text": "Привет!", "avatar_id": avatar["avatar_id"]})
    assert r.status_code == 200, r.text
    assert r.headers["x-avatar-id"] == avatar["avatar_id"]
    r = client.post("/api/render", data={"text": "Привет!", "avatar_id": "0" * 16})
    assert r.status_code == 422 and r.json()["error"]["code"] == "avatar_not_found"
    r = client.post("/api/render", data={"text": "Привет!", "avatar_id": "../etc"})
    assert r.status_code == 422


def test_a_new_persona_is_prepared_in_the_background(client):
    """Creating a persona starts its prompt preparation; the warm-up endpoint shows it reach ready."""
    made = client.post("/api/personas", json={"name": "Тимур", "age": 30, "gender": "male",
                                              "temperament": "спокойный", "interests": "шахматы, походы"})
    assert made.status_code == 201, made.text
    persona = made.json()["id"]
    first = client.get(f"/api/personas/{persona}/warmup").json()
    assert first["status"] in ("queued", "running", "ready") and first["message_ru"]
    seen, deadline = [first], time.monotonic() + 240
    while seen[-1]["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        seen.append(client.get(f"/api/personas/{persona}/warmup").json())
    done = seen[-1]
    assert done["status"] == "ready" and done["progress"] == 1.0 and done["prompt_tokens"] > 300, done
    assert client.get("/api/personas/999999/warmup").status_code == 404
    # a changed character makes a new preparation; a changed greeting (not in the prompt) does not
    assert client.patch(f"/api/personas/{persona}", json={"greeting": "Салют!"}).status_code == 200
    assert client.get(f"/api/personas/{persona}/warmup").json()["status"] == "ready"
    assert client.patch(f"/api/personas/{persona}", json={"temperament": "весёлый"}).status_code == 200
    assert client.get(f"/api/personas/{persona}/warmup").json()["status"] in ("queued", "running")
    assert client.delete(f"/api/personas/{persona}").status_code == 204
