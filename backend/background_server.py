"""Run the real server (uvicorn: REST + Socket.IO) in a background thread: benchmarks and tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from ai_pipeline.settings import Settings
from backend.app import create_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(settings: Settings, start_timeout_s: float = 120) -> Iterator[str]:
    """Start the server on a free loopback port; yield its base URL; stop it (2 s grace)."""
    server = uvicorn.Server(uvicorn.Config(create_server(settings), host="127.0.0.1", port=free_port(),
                                           log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + start_timeout_s
    while not server.started and thread.is_alive() and time.time() < deadline:
        time.sleep(0.2)
    if not server.started:
        raise RuntimeError("the server did not start")
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
