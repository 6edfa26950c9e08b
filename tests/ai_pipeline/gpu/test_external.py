"""Ollama's models in the ledger: ``/api/ps`` parsed, and asked over HTTP from a real local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ai_pipeline.gpu import GpuMemoryManager
from ai_pipeline.gpu.external import ollama_probe, ollama_usage

MB = 1024 * 1024
# the shape of Ollama's GET /api/ps (docs/api.md, "List Running Models")
PS = {"models": [
    {"name": "qwen2.5:7b-instruct", "model": "qwen2.5:7b-instruct", "size": 5_400 * MB, "size_vram": 5_100 * MB,
     "digest": "845dbda0ea48", "expires_at": "2026-12-05T23:00:00Z",
     "details": {"family": "qwen2", "parameter_size": "7.6B", "quantization_level": "Q4_K_M"}},
    {"name": "nomic-embed-text:latest", "model": "nomic-embed-text:latest", "size": 300 * MB, "size_vram": 0},
]}


def test_ps_payload_gives_the_model_and_the_server_totals():
    assert ollama_usage(PS, "qwen2.5:7b-instruct") == {
        "model": "qwen2.5:7b-instruct", "loaded": True, "vram_mb": 5100, "size_mb": 5400, "server_vram_mb": 5100}
    idle = ollama_usage(PS, "llama3.1:8b")  # not loaded (yet, or unloaded after keep_alive)
    assert idle["loaded"] is False and idle["vram_mb"] == 0 and idle["server_vram_mb"] == 5100
    assert ollama_usage({"models": []}, "x")["server_vram_mb"] == 0


@pytest.fixture
def ps_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps(PS if self.path == "/api/ps" else {"error": "not found"}).encode()
            self.send_response(200 if self.path == "/api/ps" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_ledger_shows_what_the_server_holds_uncounted(ps_server: str):
    manager = GpuMemoryManager(budget_mb=1000, device="cpu")
    manager.watch("ollama", ollama_probe(ps_server, "qwen2.5:7b-instruct"))
    manager.watch("ollama-down", ollama_probe("http://127.0.0.1:9", "qwen2.5:7b-instruct"))
    rows = {e["name"]: e for e in manager.describe()["engines"]}
    assert rows["ollama"]["vram_mb"] == 5100 and rows["ollama"]["host"] == ps_server
    assert rows["ollama"]["counted"] is False and manager.used_mb == 0
    assert rows["ollama-down"]["vram_mb"] is None and rows["ollama-down"]["error"]
