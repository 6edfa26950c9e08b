"""Job state changes turned into ``job`` events for a job's room, throttled, in order.

:class:`JobFeed` is a :class:`~backend.jobs.JobStore` listener. A change of status (queued, running,
done, error) is sent at once, as it was at that moment; progress within a status is sent at most once
per ``min_interval_s`` per job, and a report that came too soon is sent when the interval is up, as
the job stands then (so the last progress before a pause is never lost). Each event is the job's
state when it was queued.

Everything goes out through one queue drained by one short-lived task, so the client sees a job's
states in the order they happened, the answer to its ``watch`` included. The task exits when the queue
is empty; nothing is left running while no job moves, and :meth:`close` (the store closing) cancels
what is held back or unsent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from backend.jobs import Job
from backend.realtime.events import JobEvent, to_wire

log = logging.getLogger(__name__)

Send = Callable[[str, dict[str, Any], str], Awaitable[None]]  # (event, payload, room or sid)
MIN_INTERVAL_S = 0.25  # at most four progress events a second per job


def job_event(job: Job) -> JobEvent:
    """The event of a job's state now (its REST status)."""
    return JobEvent.model_validate(job.public())


def room_of(job_id: str) -> str:
    return f"job:{job_id}"


class JobFeed:
    """Listens to a JobStore's changes and sends them through ``send`` to each job's room."""

    def __init__(self, send: Send, min_interval_s: float = MIN_INTERVAL_S) -> None:
        self._send = send
        self.min_interval_s = min_interval_s
        self._outbox: deque[tuple[str, dict[str, Any]]] = deque()  # (room or sid, payload)
        self._sender: asyncio.Task[None] | None = None
        self._status: dict[str, str] = {}  # the last status told per unfinished job
        self._sent_at: dict[str, float] = {}  # when progress last went out (monotonic), per job
        self._later: dict[str, asyncio.TimerHandle] = {}  # progress held back by the throttle

    def __call__(self, job: Job) -> None:
        """The JobStore listener (on the loop, quick): queue the change or hold it back."""
        if self._status.get(job.id) != job.status or job.finished:
            self._cancel_later(job.id)
            if job.finished:
                self._status.pop(job.id, None)
                self._sent_at.pop(job.id, None)
            else:
                self._status[job.id] = job.status
                self._sent_at[job.id] = time.monotonic()
            self._queue(room_of(job.id), job)
            return
        if job.id in self._later:
            return  # already due to go out with the latest progress
        wait = self._sent_at.get(job.id, 0.0) + self.min_interval_s - time.monotonic()
        if wait <= 0:
            self._progress(job)
        else:
            self._later[job.id] = asyncio.get_running_loop().call_later(wait, self._progress, job)

    def reply(self, sid: str, job: Job) -> None:
        """A ``watch``'s answer: the job's state, in line with the room's events."""
        self._queue(sid, job)

    def close(self) -> None:
        """The store is closing: drop held-back progress and unsent events, and stop the sender."""
        for handle in self._later.values():
            handle.cancel()
        self._later.clear()
        self._outbox.clear()
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()
        self._sender = None

    def _progress(self, job: Job) -> None:
        self._later.pop(job.id, None)
        if job.finished or self._status.get(job.id) != job.status:
            return  # the status change that followed was sent already
        self._sent_at[job.id] = time.monotonic()
        self._queue(room_of(job.id), job)

    def _cancel_later(self, job_id: str) -> None:
        handle = self._later.pop(job_id, None)
        if handle is not None:
            handle.cancel()

    def _queue(self, to: str, job: Job) -> None:
        self._outbox.append((to, to_wire(job_event(job))[1]))  # the state now: the job moves on
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._outbox:
            to, payload = self._outbox.popleft()
            try:
                await self._send(JobEvent.EVENT, payload, to)
            except Exception:  # one failed emit (a closing server) must not stop the rest
                log.warning("cannot send a job event to %s", to, exc_info=True)
