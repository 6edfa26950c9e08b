"""A real ``redis-server`` process for tests.

:func:`running_redis` starts the Debian ``redis-server`` on a free loopback port in a temporary
folder, with persistence off (``--save "" --appendonly no``), waits until it answers PING and
stops it afterwards. Test files get one server per session through the ``redis_url`` fixture::

    from tests.redis_server import redis_url  # noqa: F401

Tests that share the server should use their own key prefixes (or databases) so they never see
each other's keys.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

REDIS_SERVER = "redis-server"
_START_TIMEOUT_S = 10.0
_PORT_TRIES = 5


@contextmanager
def running_redis() -> Iterator[str]:
    """Run a throwaway redis-server; yields its URL, ``redis://127.0.0.1:PORT/0``."""
    binary = shutil.which(REDIS_SERVER) or shutil.which("/usr/bin/redis-server")
    if binary is None:
        raise RuntimeError("redis-server missing: scripts/setup.sh installs it (apt-get install -y redis-server)")
    with tempfile.TemporaryDirectory(prefix="redis-test-") as workdir:
        for _ in range(_PORT_TRIES):  # another process may take the free port before redis binds it
            port = _free_port()
            process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--logfile", f"{workdir}/redis.log"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            try:
                if _wait_for_ping(process, port):
                    yield f"redis://127.0.0.1:{port}/0"
                    return
            finally:
                _stop(process)
        log = _read(f"{workdir}/redis.log")
        raise RuntimeError(f"redis-server did not start after {_PORT_TRIES} tries; last log:\n{log}")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real redis-server shared by the whole test session."""
    with running_redis() as url:
        yield url


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_ping(process: subprocess.Popen[bytes], port: int) -> bool:
    """True once our server answers PING; False if it exits (e.g. the port was taken meanwhile).

    ``INFO server`` is read too, so that another server that grabbed the port is not taken for
    ours: its ``process_id`` must be our child's.
    """
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\nINFO server\r\n")
                reply = _read_until(sock, b"process_id:", b"\r\n")
                if reply.startswith(b"+PONG"):
                    return f"process_id:{process.pid}\r\n".encode() in reply
        except OSError:
            pass
        time.sleep(0.02)
    return False


def _read_until(sock: socket.socket, marker: bytes, end: bytes) -> bytes:
    """Read until ``marker`` and then ``end`` have been received, or the peer closes."""
    reply = b""
    while not (marker in reply and end in reply.split(marker, 1)[1]):
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return reply


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return log.read()[-2000:]
    except OSError:
        return "(no log)"
