"""FastAPI application factory: the process's state is one ``Runtime`` (``backend/runtime.py``), started
and closed by the lifespan; routes live in ``routes/`` and get it through ``backend/deps.py``.

``create_app`` is the REST app; ``create_server`` wraps it with the Socket.IO conversation server
(what ``avatar serve`` runs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import socketio
from fastapi import FastAPI
from starlette.types import ASGIApp

from ai_pipeline import __version__
from ai_pipeline.settings import Settings
from backend.edge import guard, install_edge
from backend.edge.rate import RateLimitMiddleware
from backend.errors import install_error_handlers
from backend.realtime.server import create_sio
from backend.routes import avatars, chat, health, personas, render, transcribe
from backend.routes import settings as settings_routes
from backend.routes import tts, voices
from backend.runtime import Runtime
from backend.web import mount_web


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing heavy happens until the lifespan starts (``Runtime.start``)."""
    runtime = Runtime(settings or Settings())  # engine choices saved from the web app are laid over ``settings``

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await runtime.start()
            yield
        finally:
            await runtime.close()

    app = FastAPI(title="Avatar", version=__version__, lifespan=lifespan,
                  description="Local Russian-speaking talking avatar: photo + text/audio -> talking-head video.")
    app.state.runtime = runtime  # the only thing in app.state: routes get it through backend.deps
    install_error_handlers(app)
    mount_web(app, runtime.settings.server.web_dir)  # "/" and every non-API path: the built web app
    app.add_middleware(RateLimitMiddleware, runtime=runtime)  # inside the edge: refused requests are not counted
    install_edge(app, runtime.settings)  # host, origin, token, body size: before anything else runs
    app.include_router(health.router)
    app.include_router(render.router)
    app.include_router(avatars.router)
    app.include_router(transcribe.router)
    app.include_router(personas.router)
    app.include_router(chat.router)
    app.include_router(settings_routes.router)
    app.include_router(voices.router)
    app.include_router(tts.router)
    return app


def create_server(settings: Settings | None = None) -> ASGIApp:
    """REST + the Socket.IO conversation namespace (``/conversation``) in one ASGI app."""
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    return guard(socketio.ASGIApp(create_sio(runtime), other_asgi_app=app), runtime.settings)
