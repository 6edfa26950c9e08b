"""Background jobs: renders of long inputs (an MP4 kept on disk) and voice preparation (a JSON result).

A job's work is an async callable that takes a progress callback ``(fraction, Russian message)``.
It returns either a :class:`RenderResult` (the MP4 goes to disk, ``result_url`` points at it) or a
JSON-able dict (kept in the job and shown in its status as ``result``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_pipeline.errors import AvatarError
from ai_pipeline.runner import RenderResult

log = logging.getLogger(__name__)
Work = Callable[[Callable[[float, str], None]], Awaitable[RenderResult | dict[str, Any]]]


@dataclass
class Job:
    id: str
    status: str = "queued"  # queued | running | done | error
    progress: float = 0.0
    message: str = "В очереди"
    created: float = field(default_factory=time.time)
    error: dict[str, str] | None = None
    timings: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)
    kind: str = "render"  # render | voice
    result: dict[str, Any] | None = None  # the result of a job that makes no file

    def public(self) -> dict[str, object]:
        data = asdict(self)
        if self.status == "done" and self.result is None:
            data["result_url"] = f"/api/jobs/{self.id}/result"
        return data


class JobStore:
    """Runs jobs one at a time (the CPU is the bottleneck) and keeps render results on disk."""

    def __init__(self, folder: Path, keep: int = 50) -> None:
        self.folder = folder
        self.keep = keep
        self.jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    def result_path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.mp4"

    def submit(self, work: Work, kind: str = "render", label: str = "Рендеринг") -> Job:
        """Queue ``work``; ``label`` is the status message while it runs."""
        job = Job(uuid.uuid4().hex[:12], kind=kind)
        self.jobs[job.id] = job
        task = asyncio.create_task(self._run(job, work, label))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._trim()
        return job

    async def _run(self, job: Job, work: Work, label: str) -> None:
        def progress(fraction: float, message: str) -> None:
            job.progress, job.message = round(fraction, 3), message

        async with self._lock:
            job.status, job.message = "running", label
            try:
                result = await work(progress)
                if isinstance(result, dict):
                    job.result = result
                else:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    await asyncio.to_thread(self.result_path(job.id).write_bytes, result.mp4)
                    job.timings, job.warnings = result.timings, list(result.warnings)
                job.status, job.progress, job.message = "done", 1.0, "Готово"
            except AvatarError as exc:
                job.status, job.error, job.message = "error", exc.to_dict(), exc.message_ru
            except Exception as exc:  # a job must never take the server down
                log.exception("%s job %s failed", job.kind, job.id)
                job.status, job.message = "error", "Внутренняя ошибка"
                job.error = {"code": "internal_error", "message": "Внутренняя ошибка задания.", "detail": repr(exc)}

    def _trim(self) -> None:
        finished = [j for j in self.jobs.values() if j.status in ("done", "error")]
        for job in sorted(finished, key=lambda j: j.created)[: max(0, len(self.jobs) - self.keep)]:
            self.jobs.pop(job.id, None)
            self.result_path(job.id).unlink(missing_ok=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
