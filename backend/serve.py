"""``avatar serve``: uvicorn with a bounded stop.

On SIGTERM or SIGINT, connections and request tasks get half of ``server.shutdown_s`` (uvicorn's
graceful timeout, after which it cancels them), then the lifespan closes sessions, jobs, engines
and the database. Threads still inside native code by the deadline (an LLM prefill, a frame render)
cannot be cancelled; the process exits anyway once the deadline passes, because everything it owns
was closed by then. A plain ``kill`` therefore stops the server within ``shutdown_s``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from types import FrameType

import uvicorn

from ai_pipeline.settings import Settings
from backend.app import create_server

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """Arms the exit deadline the moment a stop signal arrives."""

    deadline_s = 4.0
    _armed = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self.arm()

    def arm(self) -> None:
        if not self._armed:
            self._armed = True
            threading.Thread(target=self._exit_at_deadline, name="stop-deadline", daemon=True).start()

    def _exit_at_deadline(self) -> None:
        time.sleep(self.deadline_s)
        log.warning("still running %.1f s after the stop signal: exiting now", self.deadline_s)
        logging.shutdown()
        os._exit(0)


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the server until a stop signal; return (or exit) within ``settings.server.shutdown_s`` of it."""
    deadline = settings.server.shutdown_s
    server = _Server(uvicorn.Config(create_server(settings), host=host, port=port, log_level="info",
                                    timeout_graceful_shutdown=max(1, int(deadline / 2))))
    server.deadline_s = deadline
    server.run()
    server.arm()  # threads that outlive the event loop must not hold the process
