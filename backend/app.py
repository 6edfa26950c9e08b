"""FastAPI application factory: engines load once in the lifespan, routes live in ``routes/``.

``create_app`` is the REST app; ``create_server`` wraps it with the Socket.IO conversation server
(what ``avatar serve`` runs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import socketio
from fastapi import FastAPI
from starlette.types import ASGIApp

from ai_pipeline import __version__, workers
from ai_pipeline.asr.vad import SileroVAD
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from backend.conversation import Brain
from backend.db import init_db
from backend.db.personas import first_persona_id
from backend.db.seed import seed_default_persona
from backend.edge import guard, install_edge
from backend.edge.rate import RateLimitMiddleware
from backend.errors import install_error_handlers
from backend.jobs import JobStore
from backend.realtime.redis_link import connect_redis
from backend.realtime.server import Services, create_sio
from backend.routes import avatars, chat, health, personas, render, transcribe
from backend.routes import settings as settings_routes
from backend.routes import voices
from backend.ui_settings import apply_choices, load_choices
from backend.web import mount_web

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing heavy happens until the lifespan starts."""
    base = settings or Settings()
    settings = apply_choices(base, load_choices(base))  # engine choices saved from the web app
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = services.db = await asyncio.to_thread(init_db, settings.db_url)
        await app.state.db.call(seed_default_persona)
        pipeline = Pipeline(settings)
        await asyncio.to_thread(pipeline.load, lambda f, m: log.info("loading %3.0f%% %s", f * 100, m))
        app.state.pipeline = services.pipeline = pipeline
        app.state.brain = services.brain = Brain(app.state.db, pipeline.llm, pipeline.emotion, settings)
        services.vad = await asyncio.to_thread(SileroVAD)
        await connect_redis(services)
        pipeline.notices.extend(services.notices)
        # the first persona's prompt goes into the LLM cache now, so the first reply is not the slow one
        warmup = asyncio.create_task(app.state.brain.warm_persona(await app.state.db.call(first_persona_id)))
        app.state.jobs = JobStore(settings.data_dir / "renders")
        try:
            yield
        finally:
            warmup.cancel()
            for task in list(app.state.background):
                task.cancel()
            await asyncio.gather(warmup, *app.state.background, return_exceptions=True)
            await asyncio.gather(*(live.close() for live in list(services.live.values())), return_exceptions=True)
            await app.state.jobs.aclose()
            if services.queue is not None:
                await services.queue.aclose()
            if services.redis is not None:
                await services.redis.aclose()
            pipeline.close()
            app.state.db.close()
            workers.shutdown()  # queued renders are dropped; the server does not wait for the pools

    app = FastAPI(title="Avatar", version=__version__, lifespan=lifespan,
                  description="Local Russian-speaking talking avatar: photo + text/audio -> talking-head video.")
    app.state.settings = settings
    app.state.base_settings = base
    app.state.services = services
    app.state.background = set()  # tasks the app owns (settings reloads), cancelled on shutdown
    app.state.settings_lock = asyncio.Lock()
    app.state.reloading = {}
    install_error_handlers(app)
    mount_web(app, settings.server.web_dir)  # "/" and every non-API path: the built web app
    app.add_middleware(RateLimitMiddleware, services=services)  # inside the edge: refused requests are not counted
    install_edge(app, settings)  # host, origin, token, body size: before anything else runs
    app.include_router(health.router)
    app.include_router(render.router)
    app.include_router(avatars.router)
    app.include_router(transcribe.router)
    app.include_router(personas.router)
    app.include_router(chat.router)
    app.include_router(settings_routes.router)
    app.include_router(voices.router)
    return app


def create_server(settings: Settings | None = None) -> ASGIApp:
    """REST + the Socket.IO conversation namespace (``/conversation``) in one ASGI app."""
    settings = settings or Settings()
    app = create_app(settings)
    return guard(socketio.ASGIApp(create_sio(settings, app.state.services), other_asgi_app=app), settings)
