"""The jobs namespace for real: the Socket.IO server (uvicorn, in this test's event loop) with a real
JobStore, and a python-socketio AsyncClient watching jobs run - in one process, and through Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import socketio
import uvicorn

from ai_pipeline.settings import RedisSettings, ServerSettings, Settings
from backend.background_server import free_port
from backend.jobs import JobStore
from backend.realtime.job_feed import JobFeed, room_of
from backend.realtime.job_watch import JobsNamespace
from backend.realtime.server import create_sio
from backend.runtime import Runtime
from tests.redis_server import redis_url  # noqa: F401 - the fixture

NS = "/jobs"


@asynccontextmanager
async def jobs_server(settings: Settings) -> AsyncIterator[tuple[str, JobStore, socketio.AsyncServer]]:
    """The server's Socket.IO app (both namespaces) on a free port, with a JobStore of its own."""
    runtime = Runtime(settings)
    runtime.jobs = JobStore(settings.data_dir / "renders")
    sio = create_sio(runtime)
    server = uvicorn.Server(uvicorn.Config(socketio.ASGIApp(sio), host="127.0.0.1", port=free_port(),
                                           log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the server did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}", runtime.jobs, sio
    finally:
        server.should_exit = True
        await serving
        await runtime.jobs.aclose()


class Watcher:
    """An AsyncClient on /jobs that records every event."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient()
        self.events: list[tuple[str, Any]] = []
        self.sio.on("*", self._any, namespace=NS)
        self.sio.on("connect_error", lambda data: self.events.append(("connect_error", data)), namespace=NS)

    async def _any(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))

    async def connect(self, url: str, auth: dict | None = None) -> Watcher:
        await self.sio.connect(url, namespaces=[NS], transports=["websocket"], auth=auth)
        return self

    def of(self, name: str) -> list[Any]:
        return [d for e, d in self.events if e == name]

    async def wait(self, what: str, predicate: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; got {self.events}")
            await asyncio.sleep(0.02)

    async def answered(self, job_id: str) -> None:
        """Until the watch's answer came: the job's state at the time (running: each job waits to start).
        Through Redis the room's ``queued`` may come first: sent before the watch, delivered after it."""
        await self.wait(f"the answer to watching {job_id}", lambda: any(
            d["id"] == job_id and d["status"] != "queued" for d in self.of("job")))

    def since_running(self) -> list[dict]:
        return [d for d in self.of("job") if d["status"] != "queued"]

    async def finished(self, job_id: str) -> dict:
        await self.wait(f"job {job_id} to finish", lambda: any(
            d["id"] == job_id and d["status"] in ("done", "error") for d in self.of("job")))
        return self.of("job")[-1]


def settings_for(tmp_path, redis: str | None = None, token: str | None = None) -> Settings:
    return Settings(data_dir=tmp_path, redis=RedisSettings(url=redis), server=ServerSettings(token=token))


def details(step: int, steps: int) -> dict:
    """A training's progress details (the shape a job's ``details`` has)."""
    return {"stage": "training", "fraction": step / steps, "message": f"шаг {step}", "epoch": 1, "epochs": 1,
            "step": step, "steps": steps}


def stepped(steps: int, pause_s: float, go: asyncio.Event) -> Callable:
    """A job that waits for ``go``, then reports ``steps`` progress steps ``pause_s`` apart."""
    async def work(progress: Callable) -> dict:
        await go.wait()
        for step in range(1, steps + 1):
            await asyncio.sleep(pause_s)
            progress(step / steps, f"Шаг {step} из {steps}", details(step, steps))
        return {"steps": steps}
    return work


@pytest.fixture(params=["in-process", "redis"])
def manager_settings(request, tmp_path) -> Settings:
    return settings_for(tmp_path, request.getfixturevalue("redis_url") if request.param == "redis" else None)


def test_watch_receives_every_progress_step_in_order_then_done(manager_settings):
    async def go() -> list[dict]:
        async with jobs_server(manager_settings) as (url, store, _):
            start = asyncio.Event()
            job = store.submit(stepped(4, 0.35, start), kind="voice_train", label="Обучение")
            w = await Watcher().connect(url)
            await w.sio.emit("watch", {"job_id": job.id}, namespace=NS)
            await w.answered(job.id)
            start.set()  # steps 0.35 s apart: slower than the throttle, so none is held back
            final = await w.finished(job.id)
            await w.sio.disconnect()
            assert final == job.public() and final["result"] == {"steps": 4}
            return w.since_running()

    events = asyncio.run(go())
    assert [(e["status"], e["progress"]) for e in events] == [
        ("running", 0.0), ("running", 0.25), ("running", 0.5), ("running", 0.75), ("running", 1.0), ("done", 1.0)]
    assert [e.get("details", {}).get("step") for e in events[1:5]] == [1, 2, 3, 4]
    assert events[2]["message"] == "Шаг 2 из 4" and events[0]["kind"] == "voice_train"
    assert "result_url" not in events[-1] and "params" not in events[-1]


def test_progress_reported_from_a_worker_thread_arrives(tmp_path):
    """A training reports from its thread: the reports reach the room through the loop."""
    def train(progress: Callable) -> None:
        for step in (1, 2, 3):
            time.sleep(0.35)
            progress(step / 3, f"Шаг {step}", details(step, 3))

    async def go() -> list[dict]:
        async with jobs_server(settings_for(tmp_path)) as (url, store, _):
            start = asyncio.Event()

            async def work(progress: Callable) -> dict:
                await start.wait()
                await asyncio.get_running_loop().run_in_executor(None, train, progress)
                return {"ok": True}

            job = store.submit(work, kind="voice_train")
            w = await Watcher().connect(url)
            await w.sio.emit("watch", {"job_id": job.id}, namespace=NS)
            await w.answered(job.id)
            start.set()
            await w.finished(job.id)
            await w.sio.disconnect()
            return w.since_running()

    events = asyncio.run(go())
    assert [e.get("details", {}).get("step") for e in events if e["status"] == "running"] == [None, 1, 2, 3]
    assert events[-1]["status"] == "done" and events[-1]["result"] == {"ok": True}


def test_throttled_progress_keeps_the_latest_report_and_the_final_state(manager_settings):
    async def go() -> tuple[list[dict], dict]:
        async with jobs_server(manager_settings) as (url, store, _):
            start, held_seen = asyncio.Event(), asyncio.Event()

            async def work(progress: Callable) -> dict:
                await start.wait()
                progress(0.1, "быстро")
                progress(0.2, "ещё быстрее")  # too soon after 0.1: held back, then sent as it stands
                await held_seen.wait()
                for step in range(1, 201):  # a burst: 200 reports in about a second
                    progress(0.2 + 0.8 * step / 200, f"Шаг {step}")
                    await asyncio.sleep(0.005)
                return {"steps": 200}

            job = store.submit(work, kind="render")
            w = await Watcher().connect(url)
            await w.sio.emit("watch", {"job_id": job.id}, namespace=NS)
            await w.answered(job.id)
            start.set()
            await w.wait("the held-back report", lambda: any(e["progress"] == 0.2 for e in w.of("job")))
            held_seen.set()
            final = await w.finished(job.id)
            await w.sio.disconnect()
            return w.since_running(), final

    events, final = asyncio.run(go())
    running = [e for e in events if e["status"] == "running"]
    assert final["status"] == "done" and final["progress"] == 1.0 and final["result"] == {"steps": 200}
    assert events[-1] == final and [e for e in events if e["status"] == "done"] == [final]
    assert any(e["message"] == "ещё быстрее" for e in running)
    assert len(running) < 30, f"{len(running)} progress events for 202 reports: not throttled"
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress), "in the order they were reported"


def test_unknown_ids_bad_payloads_and_unwatch(tmp_path):
    async def go() -> Watcher:
        async with jobs_server(settings_for(tmp_path)) as (url, store, _):
            w = await Watcher().connect(url)
            await w.sio.emit("watch", {"job_id": "0123456789ab"}, namespace=NS)
            await w.sio.emit("watch", {"job": "x"}, namespace=NS)
            await w.sio.emit("watch", namespace=NS)
            await w.sio.emit("follow", {"job_id": "x"}, namespace=NS)
            await w.wait("four errors", lambda: len(w.of("error")) == 4)
            # the connection is still good: a job is watched, then unwatched before it moves on
            start = asyncio.Event()
            job = store.submit(stepped(2, 0.01, start))
            await w.sio.emit("watch", {"job_id": job.id}, namespace=NS)
            await w.answered(job.id)
            seen = len(w.of("job"))
            await w.sio.emit("unwatch", {"job_id": job.id}, namespace=NS)
            await w.sio.emit("watch", {"job_id": "0123456789ab"}, namespace=NS)  # answered after the unwatch
            await w.wait("the fifth error", lambda: len(w.of("error")) == 5)
            start.set()
            while not job.finished:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            await w.sio.disconnect()
            assert len(w.of("job")) == seen, "nothing arrives after unwatch"
            return w

    w = asyncio.run(go())
    unknown, bad, missing, unknown_event, _ = w.of("error")
    assert unknown == {"code": "job_not_found", "message": "Задание не найдено.", "detail": "no job 0123456789ab",
                       "job_id": "0123456789ab"}
    assert bad["code"] == missing["code"] == "bad_message" and "job_id" not in bad
    assert unknown_event["code"] == "unknown_event"


def test_unauthorized_connect_is_refused_and_rooms_do_not_outlive_the_client(tmp_path):
    async def go() -> None:
        async with jobs_server(settings_for(tmp_path, token="s3cret")) as (url, store, sio):
            for auth in (None, {"token": "wrong"}):
                refused = Watcher()
                with pytest.raises(socketio.exceptions.ConnectionError):
                    await refused.connect(url, auth=auth)
                assert refused.of("connect_error") == [
                    {"message": "Нужен токен.", "data": {"code": "unauthorized", "message": "Нужен токен."}}]
            start = asyncio.Event()
            job = store.submit(stepped(1, 0.01, start))
            w = await Watcher().connect(url, auth={"token": "s3cret"})
            await w.sio.emit("watch", {"job_id": job.id}, namespace=NS)
            await w.answered(job.id)
            namespace = sio.namespace_handlers[NS]
            assert isinstance(namespace, JobsNamespace)
            assert list(sio.manager.get_participants(NS, room_of(job.id))), "the watcher is in the job's room"
            await w.sio.disconnect()
            await w.wait("the server to see the disconnect", lambda: not namespace.watching)
            assert not list(sio.manager.get_participants(NS, room_of(job.id)))
            start.set()
            while not job.finished:
                await asyncio.sleep(0.02)
            assert job.status == "done"

    asyncio.run(go())


def test_a_failing_listener_does_not_break_the_job(tmp_path):
    async def go() -> tuple[JobStore, list[str]]:
        store = JobStore(tmp_path)
        seen: list[str] = []

        def broken(job: Any) -> None:
            raise RuntimeError("listener bug")

        store.listen(broken)
        stop = store.listen(lambda job: seen.append(f"{job.status} {job.progress}"))

        async def work(progress: Callable) -> dict:
            progress(0.5, "половина")
            return {"ok": True}

        job = store.submit(work, kind="voice")
        while not job.finished:
            await asyncio.sleep(0.01)
        stop()
        store.submit(work, kind="voice")  # not told any more
        await store.aclose()
        return store, seen

    store, seen = asyncio.run(go())
    assert seen == ["queued 0.0", "running 0.0", "running 0.5", "done 1.0"]


def test_closing_the_store_cancels_progress_the_feed_holds_back(tmp_path):
    """A report held back by the throttle when the server stops is dropped with its timer, and nothing is
    sent after the store has closed."""
    async def go() -> tuple[list[str], int, int]:
        store = JobStore(tmp_path)
        sent: list[str] = []

        async def send(event: str, payload: dict, to: str) -> None:
            sent.append(f"{payload['status']} {payload['progress']}")

        feed = JobFeed(send, min_interval_s=5.0)
        store.listen(feed, feed.close)
        reported = asyncio.Event()

        async def work(progress: Callable) -> dict:
            progress(0.1, "первый")
            progress(0.2, "рано")  # within 5 s of the first: held back
            reported.set()
            await asyncio.sleep(60)
            return {}

        store.submit(work, kind="voice")
        await reported.wait()
        await asyncio.sleep(0.05)
        held = len(feed._later)
        await store.aclose()
        await asyncio.sleep(0.1)
        return sent, held, len(feed._later)

    sent, held, left = asyncio.run(go())
    assert held == 1 and left == 0, (held, left)
    assert "running 0.2" not in sent and sent[-1] != "running 0.2", sent
