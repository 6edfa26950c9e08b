"""Background jobs: renders of long inputs (an MP4 kept on disk), voice enrolment and preparation
(a JSON result).

A job's work is an async callable that takes a progress callback ``(fraction, Russian message)``.
It returns either a :class:`RenderResult` (the MP4 goes to disk, ``result_url`` points at it) or a
JSON-able dict (kept in the job and shown in its status as ``result``).

Jobs outlive the process: each one's state is a row of the job table beside the results
(:mod:`backend.job_table`, which says why it is a separate SQLite file), and a result is written
to a temporary file and renamed into place, so a crash never leaves half a video under a job's
name. After a restart finished jobs and their results are listed as before, and jobs that were
queued or running are errors «прервано перезапуском сервера» - except resumable ones (``params``
set, e.g. voice training, which continues from its last checkpoint): they stay queued, and whoever
owns that kind submits them again with :meth:`JobStore.submit` ``job=`` (see :meth:`JobStore.pending`).

Jobs run one at a time per ``lane``: renders and voice analyses share the default lane (the CPU is
the bottleneck); a long voice training has a lane of its own so it does not hold them up. Progress
callbacks take ``(fraction, message)`` and, optionally, a dict of ``details`` (a training's stage,
epoch, step, loss and ETA), shown in the job's status. Cleanup keeps the ``keep`` newest
finished jobs not older than ``max_age_s`` (with their files); files in the folder that belong to
no job (a result whose row was lost, a temporary file of a crashed write) go at start-up.

Listeners (:meth:`JobStore.listen`) are told of every change of a job's state - queued, running, each
progress report, done or error - on the event loop's thread, with the live :class:`Job` (read it
there and then; it moves on). A progress report made from a worker thread reaches them through
the loop; several made before the loop gets to them are told as one. A listener must be quick and
must not block; one that raises is logged and the job goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_pipeline import workers
from ai_pipeline.errors import AvatarError
from ai_pipeline.runner import RenderResult
from backend.job_table import JobTable

log = logging.getLogger(__name__)
Progress = Callable[..., None]  # (fraction, message[, details])
Work = Callable[[Progress], Awaitable[RenderResult | dict[str, Any]]]
Listener = Callable[["Job"], None]
TABLE_NAME = "jobs.sqlite3"
INTERRUPTED_MESSAGE = "Прервано перезапуском сервера"
RESUME_MESSAGE = "Продолжится после перезапуска сервера"


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
    kind: str = "render"  # render | voice | voice_enroll | voice_train
    result: dict[str, Any] | None = None  # the result of a job that makes no file
    details: dict[str, Any] | None = None  # structured progress (a training's stage, epoch, step, loss, ETA)
    params: dict[str, Any] | None = None  # what a resumable job was started with (None: not resumable)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        """A job from its stored state (keys of other versions are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def finished(self) -> bool:
        return self.status in ("done", "error")

    def public(self) -> dict[str, object]:
        """The status the API shows: ``details`` only when the job reports them, ``params`` never."""
        data = asdict(self)
        data.pop("params")
        if data["details"] is None:
            data.pop("details")
        if self.status == "done" and self.result is None:
            data["result_url"] = f"/api/jobs/{self.id}/result"
        return data

    def suspend(self) -> None:
        """A resumable job stopped by a shutdown: queued again for the next start."""
        self.status, self.message = "queued", RESUME_MESSAGE

    def interrupt(self) -> None:
        self.status, self.message = "error", INTERRUPTED_MESSAGE
        self.error = {"code": "interrupted", "message": "Задание прервано перезапуском сервера: запустите его снова.",
                      "detail": "the server stopped while the job was queued or running"}


class JobStore:
    """Runs jobs one at a time (the CPU is the bottleneck); keeps their state and results on disk.

    Construct it at start-up (it reads the table, marks interrupted jobs and sweeps the folder;
    blocking, but quick); ``aclose`` at shutdown.
    """

    def __init__(self, folder: Path, keep: int = 50, max_age_s: float = 7 * 24 * 3600.0) -> None:
        self.folder = Path(folder)
        self.keep = keep
        self.max_age_s = max_age_s
        self.jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # one job at a time per lane
        self._running: set[str] = set()  # ids of jobs that have a task in this process
        self._listeners: list[Listener] = []
        self._on_close: list[Callable[[], None]] = []
        self._told_soon: set[str] = set()  # jobs whose thread-made progress waits for the loop
        self._table = JobTable(self.folder / TABLE_NAME)
        self._recover()

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def result_path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.mp4"

    def submit(self, work: Work, kind: str = "render", label: str = "Рендеринг", *, lane: str = "default",
               params: dict[str, Any] | None = None, job: Job | None = None) -> Job:
        """Queue ``work`` in ``lane``; ``label`` is the status message while it runs. ``params`` makes
        the job resumable after a restart; ``job`` is such a job, recovered, submitted again."""
        if job is None:
            job = Job(uuid.uuid4().hex[:12], kind=kind, params=params)
        else:
            job.status, job.error = "queued", None
        self.jobs[job.id] = job
        self._running.add(job.id)
        task = asyncio.create_task(self._run(job, work, label, lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._tell(job)
        return job

    def listen(self, listener: Listener, closed: Callable[[], None] | None = None) -> Callable[[], None]:
        """Call ``listener(job)`` on every change of a job's state (see the module's docstring), and
        ``closed()`` when the store closes (to drop what the listener holds back); the function returned
        stops both."""
        self._listeners.append(listener)
        if closed is not None:
            self._on_close.append(closed)

        def stop() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
            if closed in self._on_close:
                self._on_close.remove(closed)
        return stop

    def pending(self, kind: str) -> list[Job]:
        """Resumable jobs of ``kind`` left queued by a stopped server (no task runs them yet), oldest first."""
        return sorted((j for j in self.jobs.values() if j.kind == kind and j.params is not None
                       and not j.finished and j.id not in self._running), key=lambda j: j.created)

    async def aclose(self) -> None:
        """Cancel queued and running jobs (recorded as interrupted) and close the table. Listeners are
        dropped first: nobody is told of the shutdown's own changes (their clients are leaving), so no
        listener starts work (a socket send) while the server stops."""
        self._listeners.clear()
        for closed in self._on_close:
            try:
                closed()
            except Exception:
                log.exception("job listener's close %r failed", closed)
        self._on_close.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for job in self.jobs.values():
            if not job.finished:
                job.suspend() if job.params is not None else job.interrupt()
                self._save_now(job)
        self._table.close()

    # -- running ----------------------------------------------------------------------------------

    async def _run(self, job: Job, work: Work, label: str, lane: str) -> None:
        loop, loop_thread = asyncio.get_running_loop(), threading.get_ident()

        def progress(fraction: float, message: str, details: dict[str, Any] | None = None) -> None:
            job.progress, job.message = round(fraction, 3), message
            if details is not None:
                job.details = details
            if threading.get_ident() == loop_thread:
                self._tell(job)
            elif self._listeners and job.id not in self._told_soon:  # one wake-up for a burst of reports
                self._told_soon.add(job.id)
                try:
                    loop.call_soon_threadsafe(self._tell_soon, job)
                except RuntimeError:  # the loop is closed: nobody is left to tell
                    self._told_soon.discard(job.id)

        await self._save(job)
        async with self._locks[lane]:
            job.status, job.message = "running", label
            self._tell(job)
            await self._save(job)
            try:
                result = await work(progress)
                if isinstance(result, dict):
                    job.result = result
                else:
                    await workers.run("io", self._write_result, job.id, result.mp4)
                    job.timings, job.warnings = result.timings, list(result.warnings)
                job.status, job.progress, job.message = "done", 1.0, "Готово"
            except AvatarError as exc:
                job.status, job.error, job.message = "error", exc.to_dict(), exc.message_ru
            except Exception as exc:  # a job must never take the server down
                log.exception("%s job %s failed", job.kind, job.id)
                job.status, job.message = "error", "Внутренняя ошибка"
                job.error = {"code": "internal_error", "message": "Внутренняя ошибка задания.", "detail": repr(exc)}
            self._tell(job)
            await self._save(job)
        dropped = self._forget_old()
        if dropped:
            await workers.run("io", self._delete, dropped)

    def _tell(self, job: Job) -> None:
        for listener in list(self._listeners):
            try:
                listener(job)
            except Exception:  # a listener's failure is its own, never the job's
                log.exception("job listener %r failed on job %s", listener, job.id)

    def _tell_soon(self, job: Job) -> None:
        """Progress reported from a thread, now on the loop (a job finished meanwhile was told already)."""
        self._told_soon.discard(job.id)
        if not job.finished:
            self._tell(job)

    def _write_result(self, job_id: str, data: bytes) -> None:
        """The MP4 to a temporary file, flushed to disk, then renamed to its name."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.result_path(job_id)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    # -- the table and the folder -----------------------------------------------------------------

    async def _save(self, job: Job) -> None:
        await workers.run("io", self._save_now, Job.from_dict(asdict(job)))  # a snapshot: progress moves on

    def _save_now(self, job: Job) -> None:
        try:
            self._table.save(asdict(job))
        except sqlite3.Error as exc:  # a full disk must not fail the job itself
            log.warning("cannot record job %s: %s", job.id, exc)

    def _recover(self) -> None:
        """Load the table; jobs left queued or running by a stopped server become errors."""
        for data in self._table.load():
            try:
                job = Job.from_dict(data)
            except TypeError:
                continue
            if not job.finished:
                job.suspend() if job.params is not None else job.interrupt()
                self._save_now(job)
            self.jobs[job.id] = job
        self._delete(self._forget_old())
        self._sweep_orphans()

    def _forget_old(self) -> list[str]:
        """Drop finished jobs beyond the ``keep`` newest or older than ``max_age_s``; their ids."""
        oldest = time.time() - self.max_age_s
        finished = sorted((j for j in self.jobs.values() if j.finished), key=lambda j: j.created, reverse=True)
        dropped = [j.id for n, j in enumerate(finished) if n >= self.keep or j.created < oldest]
        for job_id in dropped:
            self.jobs.pop(job_id, None)
        return dropped

    def _delete(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self.result_path(job_id).unlink(missing_ok=True)
        try:
            self._table.delete(job_ids)
        except sqlite3.Error as exc:
            log.warning("cannot delete job rows: %s", exc)

    def _sweep_orphans(self) -> None:
        """Delete files that belong to no job: results without a row, temporary files of crashed writes."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name.startswith(TABLE_NAME) or not path.is_file():
                continue
            job = self.jobs.get(path.stem) if path.suffix == ".mp4" else None
            if job is None or job.status != "done":
                log.info("removing orphan job file %s", path.name)
                path.unlink(missing_ok=True)
