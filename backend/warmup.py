"""Personas prepared ahead of their first conversation: each persona's prompt state is evaluated in
the background once (when it is created or its character changes, and at start-up for personas not
yet stored) and kept on disk by the LLM engine, so a conversation starts with the persona already
in the KV cache instead of 7-9 s of prompt evaluation.

One worker task evaluates one persona at a time, newest request first (the persona the user just
made is the one about to be talked to). ``status`` is what ``GET /api/personas/{id}/warmup`` and the
wizard's progress bar show; a progress fraction comes from the engine's prompt slices.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from pydantic import BaseModel, Field

from ai_pipeline.errors import AvatarError
from backend.conversation import Brain
from backend.db.errors import NotFound

log = logging.getLogger(__name__)

Status = Literal["queued", "running", "ready", "failed"]
MESSAGES: dict[Status, str] = {
    "queued": "Персонаж ждёт подготовки к быстрым ответам",
    "running": "Готовлю персонажа к быстрым ответам",
    "ready": "Персонаж готов отвечать сразу",
    "failed": "Не удалось подготовить персонажа заранее: первый ответ будет медленнее",
}


class PersonaWarmup(BaseModel):
    """How far a persona's prompt preparation is."""

    status: Status
    progress: float = Field(ge=0.0, le=1.0, description="fraction of the prompt evaluated")
    message_ru: str
    seconds: float | None = Field(None, description="how long the preparation took (ready) or has run")
    prompt_tokens: int | None = None
    restored: bool = Field(False, description="the state was already stored: loaded, not evaluated")

    @classmethod
    def of(cls, status: Status, **fields: Any) -> PersonaWarmup:
        return cls(status=status, message_ru=MESSAGES[status], **fields)


class PersonaWarmups:
    """The background preparation of persona prompts (one worker task, owned by the runtime).

    Requests made before ``start`` wait (a server still loading its engines shows them queued).
    ``request``, ``status`` and ``forget`` may be called from any thread (the REST routes run in
    FastAPI's threadpool)."""

    def __init__(self, brain: Callable[[], Brain]) -> None:
        self._brain = brain  # read at each job: a settings change may replace the brain's LLM
        self._spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._states: dict[int, PersonaWarmup] = {}
        self._asked: dict[int, int] = {}  # persona -> how many times it was asked for (a newer ask wins)
        self._pending: list[int] = []  # newest request last
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[Any] | None = None

    def start(self, spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]) -> None:
        """Begin working (inside the running event loop); ``spawn`` runs the worker as a task its owner ends."""
        self._loop, self._spawn, self._wake = asyncio.get_running_loop(), spawn, asyncio.Event()
        self._kick()

    def request(self, persona_id: int, *, first: bool = True) -> PersonaWarmup:
        """Prepare ``persona_id`` (again: its prompt changed); ``first``: before the ones already waiting."""
        with self._lock:
            if persona_id in self._pending:
                self._pending.remove(persona_id)
            if first:
                self._pending.append(persona_id)
            else:
                self._pending.insert(0, persona_id)
            state = self._states[persona_id] = PersonaWarmup.of("queued", progress=0.0)
            self._asked[persona_id] = self._asked.get(persona_id, 0) + 1
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._kick)
        return state

    def _kick(self) -> None:
        assert self._wake is not None and self._spawn is not None, "started"
        self._wake.set()
        if self._pending and (self._worker is None or self._worker.done()):
            self._worker = self._spawn(self._run())

    def status(self, persona_id: int) -> PersonaWarmup | None:
        """The persona's preparation, or None when it was never asked for in this process."""
        return self._states.get(persona_id)

    def forget(self, persona_id: int) -> None:
        """The persona was deleted: drop it from the queue."""
        with self._lock:
            if persona_id in self._pending:
                self._pending.remove(persona_id)
            self._states.pop(persona_id, None)
            self._asked.pop(persona_id, None)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with self._lock:
                persona_id = self._pending.pop() if self._pending else None
                if persona_id is None:
                    self._wake.clear()
            if persona_id is None:
                await self._wake.wait()
            else:
                await self._prepare(persona_id)

    async def _prepare(self, persona_id: int) -> None:
        started, asked = time.monotonic(), self._asked.get(persona_id)
        running = self._states[persona_id] = PersonaWarmup.of("running", progress=0.0)

        def current() -> bool:  # no newer request (the persona changed again) or deletion replaced this job
            return self._asked.get(persona_id) == asked

        def progress(fraction: float) -> None:  # called from the engine's thread: replace, never mutate
            if current():
                self._states[persona_id] = running.model_copy(
                    update={"progress": round(fraction, 3), "seconds": round(time.monotonic() - started, 2)})

        try:
            result = await self._brain().prepare_persona(persona_id, progress)
        except NotFound:
            self._states.pop(persona_id, None)
            return
        except (AvatarError, OSError, RuntimeError) as exc:
            log.warning("preparing persona %s failed: %s", persona_id, exc)
            if current():
                self._states[persona_id] = PersonaWarmup.of("failed", progress=0.0)
            return
        if not current():
            return  # asked again (changed) while this ran: the newer request is queued
        seconds = round(time.monotonic() - started, 2)
        if result is None:  # an engine without a local prompt cache (Ollama keeps its own)
            self._states[persona_id] = PersonaWarmup.of("ready", progress=1.0, seconds=seconds)
            return
        self._states[persona_id] = PersonaWarmup.of(
            "ready", progress=1.0, seconds=seconds, prompt_tokens=result.prompt_tokens,
            restored=result.restored_tokens > 0 and result.evaluated_tokens < 8)
        log.info("persona %s prepared in %.2f s (%d prompt tokens, %d evaluated, %d restored)", persona_id,
                 seconds, result.prompt_tokens, result.evaluated_tokens, result.restored_tokens)
