"""The HTTP edge on the real server (uvicorn): body limits while streaming, host, origin, token, validation."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ai_pipeline.settings import LimitSettings, RedisSettings, ServerSettings, Settings
from backend.background_server import serving
from backend.db import init_db
from backend.db.errors import NotFound
from backend.db.conversations import add_message, get_session, messages_page, start_session
from backend.db.personas import create_persona, get_persona
from backend.edge import token_ok
from backend.edge.hosts import HostPolicy, OriginPolicy
from backend.edge.limits import body_limit
from backend.errors import install_error_handlers

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MB = 1_000_000
HUGE = 2**64


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("edge"), redis=RedisSettings(url=None),
                        limits=LimitSettings(max_upload_mb=1.0, max_voice_mb=1.0),
                        server=ServerSettings(token=TOKEN))
    with serving(settings) as base:
        yield base


# -- raw HTTP: what the server reads and when it answers ------------------------------------------


def _request(url: str, head: str, chunks: Iterator[bytes] = iter(()), *, timeout: float = 20) -> tuple[bytes, int]:
    """Send ``head`` then ``chunks`` until the server answers, stops reading or closes.

    Returns (the raw response, body bytes the client managed to send)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)  # little kernel buffering to hide reads
    sent = 0
    try:
        sock.sendall(head.encode())
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:  # an answer (or a close) is waiting
                break
            try:
                sock.settimeout(3)  # the server stopped reading
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(chunk)
        sock.settimeout(timeout)
        return _read_response(sock), sent
    finally:
        sock.close()


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            block = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return data
        if not block:
            return data
        data += block
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), None)
            if length is not None and len(body) >= length:
                return data


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def _head(url: str, path: str, *, length: int | None = None, ctype: str = "application/json",
          extra: str = "") -> str:
    size = f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    return (f"POST {path} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: {ctype}\r\n{size}{extra}\r\n")


MULTIPART_START = (b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.wav"\r\n'
                   b"Content-Type: audio/wav\r\n\r\n")


def _chunked(total: int, start: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """A chunked body: ``start``, then ``total`` bytes (never all sent when the server refuses early)."""
    yield f"{len(start):x}\r\n".encode() + start + b"\r\n"
    block = f"{size:x}\r\n".encode() + b"a" * size + b"\r\n"
    for _ in range(total // size):
        yield block
    yield b"0\r\n\r\n"


def _refused_as_too_large(raw: bytes) -> None:
    status, headers, body = _parse(raw)
    assert status == 413, raw[:300]
    assert headers.get("connection") == "close"
    error = json.loads(body)["error"]
    assert error["code"] == "too_large" and ("МБ" in error["message"] or "КБ" in error["message"])


@pytest.mark.parametrize("path,declared", [
    ("/api/render", 200 * MB),
    ("/api/transcribe", 30 * MB),
    ("/api/voices/no-such-voice/samples", 60 * MB),  # the voice limit bites before the handler looks it up
    ("/api/chat", 50 * MB),
])
def test_content_length_over_the_limit_is_refused_before_reading(url, path, declared):
    ctype = "application/json" if path == "/api/chat" else "multipart/form-data; boundary=x"
    raw, _ = _request(url, _head(url, path, length=declared, ctype=ctype), timeout=10)
    _refused_as_too_large(raw)


@pytest.mark.parametrize("path,limit", [
    ("/api/render", 2 * MB + 256 * 1024),  # a photo and a recording
    ("/api/voices", 1 * MB + 256 * 1024),
    ("/api/chat", 256 * 1024),
])
def test_chunked_bodies_are_counted_and_cut_off(url, path, limit):
    json_body = path == "/api/chat"
    ctype = "application/json" if json_body else "multipart/form-data; boundary=x"
    raw, sent = _request(url, _head(url, path, ctype=ctype), _chunked(64 * MB, b'{"text": "' if json_body else
                                                                      MULTIPART_START))
    _refused_as_too_large(raw)
    # the server stopped within ~1 MB past the limit; the rest is the client's and kernel's buffers
    assert sent < limit + 4 * MB, sent


def test_socketio_bodies_are_left_to_engineio(url):
    body = b"4" + b"x" * 300_000  # over the JSON limit, under engine.io's own max_http_buffer_size
    r = httpx.post(f"{url}/socket.io/?EIO=4&transport=polling&sid=nope", content=body)
    assert r.status_code != 413


def test_uploads_under_the_limit_still_work(url):
    r = httpx.post(f"{url}/api/transcribe", headers=AUTH, files={"audio": ("a.ogg", b"garbage" * 20_000, "audio/ogg")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_audio"


# -- host and origin ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/health", "/", "/socket.io/?EIO=4&transport=polling"])
def test_foreign_host_is_refused(url, path):
    r = httpx.get(url + path, headers={"Host": "rebind.example.com"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_host"
    assert "адрес" in r.json()["error"]["message"]
    port = urlsplit(url).port
    for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert httpx.get(url + path, headers={"Host": host}).status_code != 400, host


def test_cross_site_post_never_reaches_the_handler(url):
    files = {"photo": ("x.png", b"not a photo", "image/png")}
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        r = httpx.post(f"{url}/api/avatars", headers={**AUTH, **headers}, files=files)
        assert r.status_code == 403, headers
        assert r.json()["error"] == {"code": "foreign_origin", "message": "Запрос с другого сайта отклонён.",
                                     "detail": "Cross-site request refused."}
    for origin in (url, "http://localhost:5173"):  # its own origin, a configured one
        r = httpx.post(f"{url}/api/avatars", headers={**AUTH, "Origin": origin, "Sec-Fetch-Site": "same-origin"},
                       files=files)
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_image"
    assert httpx.post(f"{url}/api/avatars", headers=AUTH, files=files).status_code == 422  # curl, scripts


def test_host_policy():
    lan = HostPolicy(["avatar.lan", "Other.Example:8443"], "192.168.1.5")
    assert all(lan.allows(h) for h in ("avatar.lan", "AVATAR.LAN:8000", "other.example", "192.168.1.5:8000",
                                       "127.0.0.2", "localhost.", "[::1]"))
    assert not any(lan.allows(h) for h in ("evil.example", "192.168.1.6", "", None, "avatar.lan.evil.example"))
    everywhere = HostPolicy([], "0.0.0.0")
    assert everywhere.allows("10.0.0.7:8000") and everywhere.allows("[fe80::1]") and not everywhere.allows("box.lan")
    assert HostPolicy(["*"], "127.0.0.1").allows("anything.example")


def test_origin_policy():
    policy = OriginPolicy(["http://localhost:5173/"])
    assert policy.allows("GET", "http", "127.0.0.1:8000", "http://evil.example", "cross-site")  # reads only
    assert policy.allows("DELETE", "http", "127.0.0.1:8000", "http://127.0.0.1:8000", "same-origin")
    assert policy.allows("PUT", "http", "127.0.0.1:8000", "http://LOCALHOST:5173", "same-site")
    assert policy.allows("POST", "http", "127.0.0.1:8000", None, None)
    assert not policy.allows("PATCH", "http", "127.0.0.1:8000", "http://evil.example", None)
    assert not policy.allows("POST", "http", "127.0.0.1:8000", None, "cross-site")
    assert not policy.allows("POST", "https", "127.0.0.1:8000", "http://127.0.0.1:8000", None)


# -- token ----------------------------------------------------------------------------------------


def test_token_page_load_sets_an_httponly_cookie_and_drops_it_from_the_url(url):
    r = httpx.get(f"{url}/?token={TOKEN}&persona=2")
    assert r.status_code == 303 and r.headers["location"] == "/?persona=2"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"avatar_token={TOKEN};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert httpx.get(f"{url}/?token=wrong").status_code == 401

    with_cookie = {"Cookie": f"avatar_token={TOKEN}"}
    assert httpx.get(f"{url}/api/personas", headers=with_cookie).status_code == 200
    assert httpx.get(f"{url}/api/personas", headers=AUTH).status_code == 200
    assert httpx.get(f"{url}/api/personas").status_code == 401
    assert httpx.get(f"{url}/api/personas?token={TOKEN}").status_code == 401  # never in API URLs
    assert httpx.get(f"{url}/api/personas", headers={"Cookie": "avatar_token=wrong"}).status_code == 401
    assert httpx.get(f"{url}/api/health").status_code == 200


def test_token_ok_reads_socketio_environs_and_headers():
    assert token_ok({"HTTP_COOKIE": f"theme=dark; avatar_token={TOKEN}"}, TOKEN)
    assert token_ok({"HTTP_COOKIE": f"a=1,avatar_token={TOKEN}"}, TOKEN)  # repeated Cookie headers joined
    assert token_ok({"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}, TOKEN)
    assert token_ok({"authorization": f"bearer {TOKEN}"}, TOKEN)
    assert token_ok({"cookie": f"avatar_token={TOKEN}"}, TOKEN)
    assert not token_ok({"HTTP_COOKIE": "avatar_token=s3cre"}, TOKEN)
    assert not token_ok({"QUERY_STRING": f"token={TOKEN}"}, TOKEN)
    assert not token_ok({}, TOKEN)


def test_body_limits_per_route():
    limits = LimitSettings(max_upload_mb=25, max_voice_mb=200, max_json_kb=256)
    assert body_limit("POST", "/api/avatars", limits).max_bytes == 25 * MB + 256 * 1024
    assert body_limit("POST", "/api/voices/abc/samples", limits).max_bytes == 200 * MB + 256 * 1024
    assert body_limit("POST", "/api/voices/abc/prepare", limits).max_bytes == 256 * 1024
    assert body_limit("PUT", "/api/settings", limits).max_bytes == 256 * 1024
    assert body_limit("POST", "/socket.io/", limits) is None


# -- validation: 404/422, never 500; short error bodies -------------------------------------------


@pytest.mark.parametrize("method,path,body", [
    ("GET", f"/api/personas/{HUGE}", None),
    ("PATCH", f"/api/personas/{HUGE}", {"age": 5}),
    ("DELETE", f"/api/personas/{HUGE}", None),
    ("GET", f"/api/personas/{HUGE}/sessions", None),
    ("GET", f"/api/personas/{HUGE}/facts", None),
    ("GET", f"/api/sessions/{HUGE}/messages", None),
    ("GET", f"/api/sessions/1/messages?before={HUGE}", None),
    ("POST", "/api/chat", {"persona_id": HUGE, "text": "Привет"}),
    ("POST", "/api/chat", {"persona_id": 1, "session_id": HUGE, "text": "Привет"}),
])
def test_ids_beyond_64_bits_are_refused(url, method, path, body):
    r = httpx.request(method, url + path, headers=AUTH, json=body)
    assert r.status_code in (404, 422), r.text
    assert "Overflow" not in r.text


def test_repository_treats_huge_ids_as_missing(tmp_path):  # e.g. the live conversation's start.persona_id
    db = init_db(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with db.session() as session:
            with pytest.raises(NotFound):
                get_persona(session, HUGE)
            with pytest.raises(NotFound):
                get_session(session, -HUGE)
            persona = create_persona(session, {"name": "Аня", "age": 12})
            chat = start_session(session, persona.id)
            add_message(session, chat.id, "user", "Привет")
            assert [m.text for m in messages_page(session, chat.id, before_id=HUGE)[0]] == ["Привет"]
            assert messages_page(session, chat.id, before_id=-HUGE) == ([], None)
    finally:
        db.close()


def test_unknown_transcribe_language_is_a_russian_422(url):
    r = httpx.post(f"{url}/api/transcribe", headers=AUTH, data={"language": "xx"},
                   files={"audio": ("a.ogg", b"x" * 1000, "audio/ogg")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_language"
    assert "язык" in r.json()["error"]["message"]


def test_validation_errors_quote_little_of_the_input(url):
    r = httpx.post(f"{url}/api/personas", headers=AUTH, json={"name": "Аня", "age": 12, "x" * 5000: "y" * 200_000})
    assert r.status_code == 422
    assert len(r.content) < 1500 and "yyyy" * 100 not in r.text


@pytest.mark.parametrize("fields", [
    {"name": "\u200b\u200c\u200d\u2060\ufeff"},
    {"name": " \u200b \u00a0\u3000\t"},
    {"name": "Аня", "voice_id": "abc\n"},
    {"name": "Аня", "avatar_id": "abc\n"},
])
def test_invisible_names_and_loose_ids_are_refused(url, fields):
    r = httpx.post(f"{url}/api/personas", headers=AUTH, json={"age": 12, **fields})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_persona", r.text


def test_avatar_ids_are_matched_strictly(url):
    assert httpx.get(f"{url}/api/avatars/0123456789abcdef%0A/crop.png", headers=AUTH).status_code == 404


def test_unexpected_errors_do_not_echo_huge_inputs():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise ValueError("z" * 100_000)

    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500 and len(r.json()["error"]["detail"]) <= 300
