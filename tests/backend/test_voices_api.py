"""``/api/voices`` on the real app: enrol from real uploads in a job, reports, limits, samples, prepare job."""

from __future__ import annotations

import io
import os
import time
import wave

import pytest
from fastapi.testclient import TestClient

from ai_pipeline.settings import LimitSettings, Settings
from backend.app import create_app
from backend.uploads import CHUNK, copy_limited
from tests.voice_samples import chords, encode, festival_speech, wav_bytes, white_noise


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("voices_api"),
                        limits=LimitSettings(max_voice_files=3, max_voice_mb=3.0))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:  # a loopback Host
        yield c


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("uploads")
    speech = festival_speech(12)
    cut = speech.size // 2
    return {"full.mp3": encode(speech, "mp3", folder).read_bytes(),
            "first.webm": encode(speech[:cut], "webm", folder).read_bytes(),
            "second.m4a": encode(speech[cut:], "m4a", folder).read_bytes()}


def _wait(client: TestClient, url: str, timeout: float = 300) -> tuple[dict, list[dict]]:
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(url).json()
        seen.append(job)
        if job["status"] in ("done", "error"):
            return job, seen
        time.sleep(0.2)
    raise AssertionError(f"job did not finish: {seen[-1]}")


def _enrol(client: TestClient, url: str, **request) -> tuple[dict, list[dict]]:
    """POST the uploads (202 with a job), then wait for the analysis job."""
    r = client.post(url, **request)
    assert r.status_code == 202, r.text
    assert r.json()["status_url"] == f"/api/jobs/{r.json()['job_id']}"
    job, seen = _wait(client, r.json()["status_url"])
    assert job["kind"] == "voice_enroll" and "result_url" not in job
    return job, seen


def _uploads_left(client: TestClient) -> list[str]:
    folder = client.app.state.runtime.settings.voices_dir / ".uploads"
    return [p.name for p in folder.iterdir()] if folder.is_dir() else []


def test_enrol_listen_prepare_and_delete(client, uploads):
    job, seen = _enrol(client, "/api/voices", data={"name": "Анна"},
                       files=[("files", ("full.mp3", uploads["full.mp3"], "audio/mpeg")),
                              ("files", ("noise.wav", wav_bytes(white_noise(3)), "audio/wav"))])
    assert job["status"] == "done", job
    assert _uploads_left(client) == []
    body = job["result"]
    voice, report = body["voice"], body["report"]
    assert voice["name"] == "Анна" and voice["current_version"] == 1 and voice["prepared"] is False
    assert report["enough"] and report["level"] == "enough" and voice["usable_s"] == report["usable_s"] > 30
    assert [f["accepted"] for f in report["files"]] == [True, False]
    assert "шум" in report["files"][1]["problems"][0]
    assert len(voice["samples"]) == voice["utterances"] == report["files"][0]["utterances"]

    assert [v["id"] for v in client.get("/api/voices").json()] == [voice["id"]]
    assert client.get(f"/api/voices/{voice['id']}").json()["report"] == report
    assert client.get("/api/voices/Анна").json()["id"] == voice["id"]
    wav = client.get(voice["samples"][0])
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(wav.content)) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 24000) and w.getnframes() >= 24000
    missing = client.get(f"/api/voices/{voice['id']}/samples/999.wav")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "sample_not_found"

    r = client.post(f"/api/voices/{voice['id']}/prepare")
    assert r.status_code == 202, r.text
    assert r.json()["status_url"] == f"/api/jobs/{r.json()['job_id']}"
    job, seen = _wait(client, r.json()["status_url"])
    assert job["status"] == "done", job
    assert job["kind"] == "voice" and isinstance(job["result"], dict) and "result_url" not in job
    assert all(0.0 <= s["progress"] <= 1.0 for s in seen) and job["progress"] == 1.0
    assert client.get(f"/api/voices/{voice['id']}").json()["prepared"] is True

    assert client.delete(f"/api/voices/{voice['id']}").status_code == 204
    gone = client.get(f"/api/voices/{voice['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "voice_not_found"
    assert client.delete(f"/api/voices/{voice['id']}").status_code == 404


def test_not_enough_then_samples_make_it_enough(client, uploads):
    job, _ = _enrol(client, "/api/voices", data={"name": "Частями"},
                    files={"files": ("first.webm", uploads["first.webm"], "audio/webm")})
    assert job["status"] == "done", job
    voice = job["result"]["voice"]
    assert job["result"]["report"]["level"] == "not_enough" and voice["enough"] is False
    refused = client.post(f"/api/voices/{voice['id']}/prepare")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_enough_audio"

    job, _ = _enrol(client, f"/api/voices/{voice['id']}/samples",
                    files={"files": ("second.m4a", uploads["second.m4a"], "audio/mp4")})
    assert job["status"] == "done", job
    body = job["result"]
    assert body["voice"]["current_version"] == 2 and body["report"]["enough"]
    assert [f["name"] for f in body["report"]["files"]] == ["first.webm", "second.m4a"]
    assert [v["version"] for v in body["voice"]["versions"]] == [1, 2]


def test_garbage_is_refused_with_the_report(client):
    job, _ = _enrol(client, "/api/voices", data={"name": "Мусор"},
                    files=[("files", ("song.wav", wav_bytes(chords(8)), "audio/wav")),
                           ("files", ("silence.wav", wav_bytes(white_noise(3, 0.0)), "audio/x-wav"))])
    assert job["status"] == "error" and job["result"] is None
    error = job["error"]
    assert error["code"] == "voice_rejected" and error["message"] and error["detail"]
    assert [f["accepted"] for f in error["report"]["files"]] == [False, False]
    assert "музыку" in error["report"]["files"][0]["problems"][0]
    assert "Тишина" in error["report"]["files"][1]["problems"][0]
    assert all(v["name"] != "Мусор" for v in client.get("/api/voices").json())
    assert _uploads_left(client) == []


@pytest.mark.parametrize("files,status,code", [
    ([("files", (f"{i}.ogg", b"x" * 10, "audio/ogg")) for i in range(4)], 413, "too_many_files"),
    ([("files", ("big.wav", b"\0" * 2_000_000, "audio/wav")), ("files", ("big2.wav", b"\0" * 2_000_000, "audio/wav"))],
     413, "too_large"),
    ([("files", ("photo.png", b"\x89PNG" * 100, "image/png"))], 422, "bad_type"),
    ([("files", ("empty.wav", b"", "audio/wav"))], 422, "empty_file"),
])
def test_upload_limits(client, files, status, code):
    r = client.post("/api/voices", data={"name": "Лимиты"}, files=files)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert _uploads_left(client) == []  # what was copied before the refusal is gone


def test_uploads_are_copied_in_chunks_and_stop_at_the_limit(tmp_path):
    class Endless(io.RawIOBase):
        """A file that never ends: reading all of it into memory would never finish."""

        def __init__(self) -> None:
            self.read_bytes = 0

        def read(self, size: int = -1) -> bytes:
            assert 0 < size <= CHUNK, "read in chunks, never the whole file"
            self.read_bytes += size
            return b"\0" * size

    source = Endless()
    assert copy_limited(source, tmp_path / "big.wav", 3 * CHUNK + 5) > 3 * CHUNK + 5
    assert (tmp_path / "big.wav").stat().st_size <= 3 * CHUNK + 5 and source.read_bytes <= 4 * CHUNK


def test_leftovers_of_a_crash_are_swept_on_first_use(tmp_path):
    data_dir = tmp_path / "data"
    stale = [data_dir / "voices" / ".uploads" / "deadbeef", data_dir / "voices" / "0123456789ab" / ".tmp-1"]
    for folder in stale:
        folder.mkdir(parents=True)
        (folder / "x.wav").write_bytes(b"RIFF")
    for path in (*stale, stale[1].parent):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    app = create_app(Settings(data_dir=data_dir))  # no lifespan here: the store only needs to be built
    app.state.runtime.voices()
    assert not any(p.exists() for p in (*stale, stale[1].parent))


def test_bad_requests(client, uploads):
    no_name = client.post("/api/voices", files={"files": ("a.mp3", uploads["full.mp3"], "audio/mpeg")})
    assert no_name.status_code == 422 and no_name.json()["error"]["code"] == "bad_request"
    long_name = client.post("/api/voices", data={"name": "я" * 61},
                            files={"files": ("a.mp3", uploads["full.mp3"], "audio/mpeg")})
    assert long_name.status_code == 422 and long_name.json()["error"]["code"] == "bad_name"
    for method, url in (("post", "/api/voices/nope/prepare"), ("get", "/api/voices/nope/samples/1.wav")):
        r = getattr(client, method)(url)
        assert r.status_code == 404 and r.json()["error"]["code"] == "voice_not_found"
    r = client.post("/api/voices/nope/samples", files={"files": ("a.mp3", uploads["full.mp3"], "audio/mpeg")})
    assert r.status_code == 404
