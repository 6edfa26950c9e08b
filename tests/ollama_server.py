"""A real in-process HTTP server that speaks Ollama's REST protocol, for tests.

It listens on a free loopback port (``http.server`` in a daemon thread) and answers
``GET /api/version``, ``GET /api/tags``, ``GET /api/ps``, ``POST /api/show`` and ``POST /api/chat`` the way Ollama
does: ``/api/chat`` streams NDJSON over chunked HTTP/1.1, one ``{"message": {...}, "done": false}``
line per word of a fixed Russian reply, then a ``done: true`` line with Ollama's counters. Unknown
models get Ollama's 404. Every request body is recorded in ``requests`` so tests can check what the
client sent. ``delay_s`` slows each line down; ``drop_after`` closes the socket mid-stream after
that many lines, without the chunked terminator, as a crashed server would. ``disconnects``
counts streams the client closed early (a write to it failed).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = ("Здравствуйте! Я ваш виртуальный собеседник. Москва — столица России, "
         "крупнейший город страны и её политический центр. Спрашивайте ещё, я с радостью помогу.")
VERSION = "0.12.6"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def reply_pieces(text: str = REPLY) -> list[str]:
    """The streamed "tokens": words with their trailing space."""
    return re.findall(r"\S+\s*", text)


MODEL_BYTES = 5_433_000_000  # qwen2.5:7b-instruct Q4_K_M loaded with a 4096-token context


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    # -- plumbing -----------------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}") if length else {}
        self.server.owner.requests.append({"path": self.path, "method": self.command, "body": data})
        return data

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, payload: dict[str, Any]) -> None:
        line = json.dumps(payload, ensure_ascii=False).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.flush()

    def _missing(self, model: str) -> None:
        self._json(404, {"error": f"model '{model}' not found"})

    # -- routes -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self.server.owner.requests.append({"path": self.path, "method": "GET", "body": None})
        if self.path == "/api/version":
            self._json(200, {"version": VERSION})
        elif self.path == "/api/tags":
            self._json(200, {"models": [
                {"name": m, "model": m, "modified_at": _now(), "size": 4_683_087_332,
                 "digest": "845dbda0ea48ed749caafd9e6037047aa19acfcfd82e704d7ca97d631a0b697e",
                 "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B",
                             "quantization_level": "Q4_K_M"}} for m in self.server.owner.models]})
        elif self.path == "/api/ps":  # a model stays loaded after a chat, wholly on the GPU
            self._json(200, {"models": [
                {"name": m, "model": m, "size": MODEL_BYTES, "size_vram": MODEL_BYTES, "expires_at": _now(),
                 "digest": "845dbda0ea48ed749caafd9e6037047aa19acfcfd82e704d7ca97d631a0b697e",
                 "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B",
                             "quantization_level": "Q4_K_M"}} for m in self.server.owner.loaded]})
        else:
            self._json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:
        body = self._body()
        model = body.get("model", "")
        if self.path == "/api/show":
            if model not in self.server.owner.models:
                return self._missing(model)
            self._json(200, {"modelfile": f"FROM {model}\n", "parameters": "stop \"<|im_end|>\"",
                             "template": "{{ .Prompt }}", "modified_at": _now(), "capabilities": ["completion"],
                             "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B",
                                         "quantization_level": "Q4_K_M"},
                             "model_info": {"general.architecture": "qwen2"}})
        elif self.path == "/api/chat":
            if model not in self.server.owner.models:
                return self._missing(model)
            self._chat(body)
        else:
            self._json(404, {"error": "404 page not found"})

    def _chat(self, body: dict[str, Any]) -> None:
        owner = self.server.owner
        if body["model"] not in owner.loaded:
            owner.loaded.append(body["model"])
        started = time.monotonic_ns()
        limit = int((body.get("options") or {}).get("num_predict") or -1)
        pieces = reply_pieces()
        reason = "stop"
        if 0 < limit < len(pieces):
            pieces, reason = pieces[:limit], "length"
        prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
        final = {"model": body["model"], "created_at": _now(), "message": {"role": "assistant", "content": ""},
                 "done": True, "done_reason": reason, "load_duration": 1_000_000,
                 "prompt_eval_count": max(1, prompt_chars // 3), "prompt_eval_duration": 2_000_000,
                 "eval_count": len(pieces)}
        if body.get("stream") is False:
            final["message"]["content"] = "".join(pieces)
            final.update(eval_duration=3_000_000, total_duration=time.monotonic_ns() - started)
            return self._json(200, final)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for sent, piece in enumerate(pieces):
                if owner.drop_after is not None and sent >= owner.drop_after:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)  # no terminating chunk: a broken stream
                    return
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                self._chunk({"model": body["model"], "created_at": _now(),
                             "message": {"role": "assistant", "content": piece}, "done": False})
                owner.lines_sent += 1
            final.update(eval_duration=time.monotonic_ns() - started, total_duration=time.monotonic_ns() - started)
            self._chunk(final)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            owner.disconnects += 1
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: OllamaServer


class OllamaServer:
    """Start with ``with OllamaServer() as server:``; ``server.url`` is the host for the client."""

    def __init__(self, models: tuple[str, ...] = ("qwen2.5:7b-instruct",)) -> None:
        self.models = list(models)
        self.loaded: list[str] = []  # models a chat has loaded (``/api/ps``)
        self.requests: list[dict[str, Any]] = []
        self.delay_s = 0.0
        self.drop_after: int | None = None
        self.lines_sent = 0
        self.disconnects = 0
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="ollama-test-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Back to fast, well-behaved streaming with nothing recorded."""
        self.requests.clear()
        self.loaded.clear()
        self.delay_s, self.drop_after, self.lines_sent, self.disconnects = 0.0, None, 0, 0

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == "/api/chat"]

    def start(self) -> OllamaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OllamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
