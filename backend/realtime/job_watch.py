"""The jobs namespace (``/jobs``): a client follows background jobs (renders, voice analyses and
preparations, voice trainings) as they move, instead of polling their REST status.

``watch`` ``{job_id}`` answers with the job's state at once (a ``job`` event; ``error`` job_not_found
for an id this server does not know) and puts the client in the job's room, where every later change
arrives (:class:`~backend.realtime.job_feed.JobFeed`: status changes at once, progress a few times a
second). ``unwatch`` leaves the room; a disconnect leaves them all. Emits go through the server's
client manager, so with Redis a room's members on every server process get them. Jobs live in the
process that runs them: a job is watched there, like its REST status is read there.

The connection is authorised like the conversation's (the token in ``auth``, the bearer header or the
cookie); a bad payload gets an ``error`` event, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from backend.jobs import JobStore
from backend.realtime.events import JOBS_NAMESPACE, JobErrorEvent, WatchMessage
from backend.realtime.guarded import GuardedNamespace, authorized, refusal
from backend.realtime.job_feed import JobFeed, room_of
from backend.runtime import Runtime

log = logging.getLogger(__name__)

MAX_WATCHED = 16  # jobs one client may follow at once


class JobsNamespace(GuardedNamespace):
    """``watch`` / ``unwatch`` jobs; the runtime's JobStore feeds the rooms."""

    ERROR = JobErrorEvent
    PAYLOAD_REQUIRED = True  # watch and unwatch carry exactly one payload

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(JOBS_NAMESPACE)
        self.runtime = runtime
        self.feed = JobFeed(lambda event, payload, to: self.emit(event, payload, to=to))
        self.watching: dict[str, set[str]] = {}  # sid -> the ids of the jobs it watches
        self._store: JobStore | None = None
        self._unlisten: Callable[[], None] | None = None

    def jobs(self) -> JobStore | None:
        """The runtime's JobStore with the feed listening to it (None before the server has started)."""
        try:
            store = self.runtime.jobs
        except RuntimeError:
            return None
        if store is not self._store:  # the first call after start-up (or a store set by a test)
            if self._unlisten is not None:
                self._unlisten()
            self._store, self._unlisten = store, store.listen(self.feed, self.feed.close)
        return store

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        if not authorized(environ, auth, self.runtime.settings.server.token):
            raise refusal()
        self.jobs()
        self.watching[sid] = set()

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        for job_id in self.watching.pop(sid, set()):
            await self.leave_room(sid, room_of(job_id))

    async def on_watch(self, sid: str, data: Any) -> None:
        job_id = WatchMessage.model_validate(data).job_id
        store = self.jobs()
        job = store.get(job_id) if store is not None else None
        if job is None:
            await self.send_error(sid, "job_not_found", "Задание не найдено.", f"no job {job_id}", job_id=job_id)
            return
        watched = self.watching.get(sid)
        if watched is None:  # disconnected meanwhile
            return
        if job_id not in watched and len(watched) >= MAX_WATCHED:
            await self.send_error(sid, "too_many_jobs",
                                  f"Можно следить не больше чем за {MAX_WATCHED} заданиями сразу.",
                                  f"{len(watched)} jobs watched", job_id=job_id)
            return
        watched.add(job_id)
        await self.enter_room(sid, room_of(job_id))
        self.feed.reply(sid, job)

    async def on_unwatch(self, sid: str, data: Any) -> None:
        job_id = WatchMessage.model_validate(data).job_id
        self.watching.get(sid, set()).discard(job_id)
        await self.leave_room(sid, room_of(job_id))

    async def within_limit(self, sid: str) -> bool:
        """At most ``realtime.events_per_10s`` events per client, like the conversation's."""
        limiter = self.runtime.limiter
        if limiter is None:
            return True
        decision = await limiter.hit(f"job-events:{sid}", limit=self.runtime.settings.realtime.events_per_10s,
                                     window_s=10)
        if not decision.allowed:
            await self.send_error(sid, "rate_limited", "Слишком много сообщений: часть из них пропущена.",
                                  f"retry after {decision.retry_after_s:.1f} s")
        return decision.allowed
