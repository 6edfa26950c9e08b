"""Render worker (arq): owns clients' avatar streams and emits their segments straight to their rooms.

Run several, on GPU machines for the heavy engines: ``arq backend.realtime.worker.WorkerSettings``
(Redis from ``AVATAR_REDIS__URL``). Each connected client's stream is one long job: the worker
renders idle and speech video with the configured talking-head engine, encodes it and emits it
through a write-only Socket.IO Redis manager, so the server never touches a frame. arq was chosen
over Celery and Dramatiq because it is asyncio-native like the rest of the service, small, and needs
nothing but the Redis the service already runs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from arq.connections import RedisSettings

from ai_pipeline.settings import Settings
from ai_pipeline.streaming import Emitted
from backend.realtime.commands import first_segment_notice, notice_key, serve_commands
from backend.realtime.events import media_event, to_wire
from backend.realtime.protocol import NAMESPACE
from backend.runtime import RENDER_STAGES, Runtime

log = logging.getLogger(__name__)


async def startup(ctx: dict[str, Any]) -> None:
    """Settings as the server makes them (the web app's saved choices over the configuration), and the
    talking head (with its enhancer) loaded from them."""
    runtime = Runtime(Settings())
    ctx.update(runtime=runtime, pipeline=runtime.pipeline,
               rooms=socketio.AsyncRedisManager(runtime.settings.redis.url, write_only=True))
    await refresh(ctx)  # choices published by a running server win over the saved file
    await runtime.load(RENDER_STAGES)


async def refresh(ctx: dict[str, Any]) -> None:
    """Before each stream: a switch made in the web app since the last one (the choices the server
    published in Redis) rebuilds the talking head first, so the video has the size and format the server
    told the client."""
    runtime: Runtime = ctx["runtime"]
    await runtime.follow(ctx["redis"])
    ctx["settings"] = runtime.settings


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["runtime"].close()


async def avatar_stream(ctx: dict[str, Any], sid: str, avatar_id: str, sample_rate: int) -> int:
    """Run one client's avatar stream until the server says stop; returns the frames sent."""
    await refresh(ctx)
    pipeline, rooms, redis = ctx["pipeline"], ctx["rooms"], ctx["redis"]
    avatar = await asyncio.to_thread(pipeline.avatar_by_id, avatar_id)
    first_sent: set[int] = set()

    async def sink(item: Emitted) -> None:
        event, data = to_wire(media_event(item))
        await rooms.emit(event, data, to=sid, namespace=NAMESPACE)
        if item.kind == "speech" and item.turn not in first_sent:
            first_sent.add(item.turn)
            await redis.rpush(notice_key(sid), first_segment_notice(item.turn, item.queued_s).pack())

    stream = pipeline.live_stream(avatar, sink, sample_rate=sample_rate)
    await serve_commands(stream, redis, sid)
    return stream.frame


class WorkerSettings:
    """``arq backend.realtime.worker.WorkerSettings``"""

    functions = [avatar_stream]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(Settings().redis.url or "redis://127.0.0.1:6379/0")
    max_jobs = 8  # concurrent client streams per worker
    job_timeout = 24 * 3600
    keep_result = 60
