"""The host's side of scripts/docker_check.sh: talk to the containerised server as a user's browser would.

    python docker/check_client.py URL TOKEN use                 # health, a render, a conversation turn
    python docker/check_client.py URL TOKEN kept SESSION_ID     # that turn's messages are still stored

Prints one JSON object. ``use``: ``health`` (GET /api/health said ok, with its engines), ``render``
(POST /api/render of a short Russian text returned an MP4 that ffprobe reads: video and audio streams,
duration), ``turn`` (a Socket.IO conversation: ``start``, a typed question, the first speech
``segment`` of the answer and how long it took), ``session_id``. ``kept``: the session's messages.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
import socketio

NS = "/conversation"  # the server's Socket.IO namespace
QUESTION = "Привет! Как тебя зовут?"
RENDER_TEXT = "Привет! Я говорю из контейнера."


def health(http: httpx.Client) -> dict[str, Any]:
    body = http.get("/api/health").raise_for_status().json()
    return {"ok": body.get("status") == "ok", "status": body.get("status"),
            "engines": {k: v.get("engine") if isinstance(v, dict) else v for k, v in (body.get("engines") or {}).items()}}


def render(http: httpx.Client) -> dict[str, Any]:
    started = time.perf_counter()
    response = http.post("/api/render", data={"text": RENDER_TEXT, "mode": "sync"}, timeout=300)
    seconds = round(time.perf_counter() - started, 2)
    if response.status_code != 200 or response.headers.get("content-type") != "video/mp4":
        return {"ok": False, "status": response.status_code, "body": response.text[:300]}
    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(response.content)
        f.flush()
        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
                                           f.name], capture_output=True, text=True, check=True).stdout)
    kinds = sorted(s["codec_type"] for s in probe["streams"])
    duration = float(probe["format"]["duration"])
    return {"ok": kinds == ["audio", "video"] and duration > 1.0, "streams": kinds, "duration_s": round(duration, 2),
            "bytes": len(response.content), "seconds": seconds}


async def turn(url: str, token: str) -> dict[str, Any]:
    sio = socketio.AsyncClient()
    ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    speech: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    errors: list[Any] = []

    @sio.on("ready", namespace=NS)
    def on_ready(data: dict[str, Any]) -> None:
        if not ready.done():
            ready.set_result(data)

    @sio.on("segment", namespace=NS)
    def on_segment(data: dict[str, Any]) -> None:
        if data.get("kind") == "speech" and not speech.done():
            speech.set_result(data)

    @sio.on("error", namespace=NS)
    def on_error(data: Any) -> None:
        errors.append(data)

    await sio.connect(url, headers={"Authorization": f"Bearer {token}"}, namespaces=[NS], transports=["websocket"])
    try:
        await sio.emit("start", {"greet": False, "audio_format": "pcm16"}, namespace=NS)
        opened = await asyncio.wait_for(ready, 300)
        asked = time.perf_counter()
        await sio.emit("text", {"text": QUESTION}, namespace=NS)
        first = await asyncio.wait_for(speech, 300)
        return {"ok": True, "session_id": opened.get("session_id"), "first_speech_s": round(time.perf_counter() - asked, 2),
                "segment_duration_s": first.get("duration"), "errors": errors}
    except TimeoutError:
        return {"ok": False, "errors": errors}
    finally:
        await sio.disconnect()


def kept(http: httpx.Client, session_id: int) -> dict[str, Any]:
    body = http.get(f"/api/sessions/{session_id}/messages").raise_for_status().json()
    roles = [m["role"] for m in body.get("items", [])]
    return {"ok": "user" in roles and "assistant" in roles, "messages": len(roles)}


def main(argv: list[str]) -> int:
    url, token, what = argv[:3]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        if what == "kept":
            out = kept(http, int(argv[3]))
        else:
            out = {"health": health(http), "render": render(http)}
            out["turn"] = asyncio.run(turn(url, token))
            out["session_id"] = out["turn"].get("session_id")
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
